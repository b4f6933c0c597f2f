"""A content-addressed, write-once artifact store.

Objects live at ``objects/<sha256[:2]>/<sha256>``. A write streams the bytes
into a temporary file in the same directory while hashing them (SHA-256 and
SM3 in one read), fsyncs it, renames it into place and fsyncs the directory,
so an object either exists whole under its true name or not at all. Stored
objects are made read-only and never overwritten.

:class:`ObjectStore` is what every backend offers; :func:`open_store` picks
the backend from the settings: this local store (the default), or the
S3-compatible one (``EVIDENCE_STORE_URL=s3://bucket/prefix``, in
``s3_store``, which loads boto3 only when it is used).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from evidence.model.errors import IntegrityError, NotFoundError, StoreError
from evidence.model.hashing import CHUNK_SIZE, Digests, DualHasher, digest_file, sha256_hex
from evidence.model.permissions import PRIVATE_DIR_MODE, SEALED_FILE_MODE, private_directory
from evidence.model.store_settings import StoreSettings

logger = logging.getLogger(__name__)

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ObjectStore(Protocol):
    """A content-addressed, write-once store of byte strings, named by their SHA-256.

    Writes return the size, SHA-256 and SM3 of what was stored; an object
    already there with the same content is kept (write-once, idempotent).
    ``read_bytes``, ``verify`` and ``path_for`` check the digest (``open`` too,
    for a remote store: its stream raises IntegrityError at the end);
    ``path_for`` gives a local file a PDF or bundle writer can read.
    """

    @property
    def location(self) -> str:
        """Where the objects are, for messages (never with credentials)."""
        ...

    def put_file(self, source: Path) -> Digests: ...

    def put_bytes(self, data: bytes) -> Digests: ...

    def put_stream(self, stream: BinaryIO) -> Digests: ...

    def put_chunks(self, chunks: Iterator[bytes]) -> Digests: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def read_bytes(self, sha256: str) -> bytes: ...

    def contains(self, sha256: str) -> bool: ...

    def verify(self, sha256: str) -> Digests: ...

    def path_for(self, sha256: str) -> Path: ...

    def stored_digests(self) -> Iterator[str]:
        """The SHA-256 of every object in the store (order unspecified)."""
        ...


def is_sha256_hex(text: str) -> bool:
    return bool(_SHA256_HEX.match(text))


def _now() -> datetime:
    return datetime.now(UTC)


def open_store(
    settings: StoreSettings,
    *,
    local_root: Path,
    cache_root: Path,
    clock: Callable[[], datetime] = _now,
) -> ArtifactStore:
    """The store the settings name: local under ``local_root``, or S3 with a read cache.

    The S3 store is an :class:`ArtifactStore` whose local directory is only a
    cache of verified copies (``cache_root``), so every caller typed for the
    local store works with it unchanged.
    """
    if settings.location is None:
        return ArtifactStore(local_root)
    from evidence.model.s3_store import S3ArtifactStore

    return S3ArtifactStore(settings, cache_root=cache_root, clock=clock)


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._tmp = root / "tmp"
        for directory in (root, self._objects, self._tmp):
            private_directory(directory)

    @property
    def location(self) -> str:
        return str(self.root)

    def stored_digests(self) -> Iterator[str]:
        for shard in sorted(self._objects.iterdir()) if self._objects.is_dir() else []:
            if shard.is_dir():
                for entry in sorted(shard.iterdir()):
                    if _SHA256_HEX.match(entry.name) and entry.name[:2] == shard.name:
                        yield entry.name

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
