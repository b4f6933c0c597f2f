"""A content-addressed, write-once artifact store.

Objects live at ``objects/<sha256[:2]>/<sha256>``. A write streams the bytes
into a temporary file in the same directory while hashing them (SHA-256 and
SM3 in one read), fsyncs it, renames it into place and fsyncs the directory,
so an object either exists whole under its true name or not at all. Stored
objects are made read-only and never overwritten.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from evidence.model.errors import IntegrityError, NotFoundError, StoreError
from evidence.model.hashing import CHUNK_SIZE, Digests, DualHasher, digest_file, sha256_hex
from evidence.model.permissions import PRIVATE_DIR_MODE, SEALED_FILE_MODE, private_directory

logger = logging.getLogger(__name__)

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._tmp = root / "tmp"
        for directory in (root, self._objects, self._tmp):
            private_directory(directory)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256_HEX.match(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self._objects / sha256[:2] / sha256

    def contains(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path) -> Digests:
        try:
            with source.open("rb") as stream:
                return self.put_stream(stream)
        except OSError as exc:
            raise StoreError(f"cannot read {source}: {exc.strerror}") from exc

    def put_bytes(self, data: bytes) -> Digests:
        return self.put_chunks(iter((data,)))

    def put_stream(self, stream: BinaryIO) -> Digests:
        return self.put_chunks(iter(lambda: stream.read(CHUNK_SIZE), b""))

    def put_chunks(self, chunks: Iterator[bytes]) -> Digests:
        hasher = DualHasher()
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="incoming-")
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, ThreadPoolExecutor(1) as writer:
                # The write of one chunk overlaps the hashing of the same chunk.
                for chunk in chunks:
                    written = writer.submit(out.write, chunk)
                    hasher.update(chunk)
                    written.result()
                out.flush()
                os.fsync(out.fileno())
            digests = hasher.finalize()
            target = self.path_for(digests.sha256)
            if target.exists():
                # Write-once: identical content is already there; never replace it.
                tmp_path.unlink()
                return digests
            target.parent.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            os.chmod(tmp_path, SEALED_FILE_MODE)
            os.rename(tmp_path, target)
            _fsync_dir(target.parent)
            logger.debug("stored object %s (%d bytes)", digests.sha256, digests.size)
            return digests
        except OSError as exc:
            tmp_path.unlink(missing_ok=True)
            raise StoreError(f"cannot write to the artifact store {self.root}: {exc}") from exc
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_for(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"object {sha256} is missing from the store") from exc

    def read_bytes(self, sha256: str) -> bytes:
        with self.open(sha256) as stream:
            data = stream.read()
        if sha256_hex(data) != sha256:
            raise IntegrityError(f"stored object {sha256} no longer matches its SHA-256")
        return data

    def verify(self, sha256: str) -> Digests:
        """Re-hash a stored object; raises IntegrityError if it changed."""
        path = self.path_for(sha256)
        if not path.is_file():
            raise NotFoundError(f"object {sha256} is missing from the store")
        digests = digest_file(path)
        if digests.sha256 != sha256:
            raise IntegrityError(f"stored object {sha256} no longer matches its SHA-256")
        return digests


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
