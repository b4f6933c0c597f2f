"""The local read cache of a remote store: verified copies, named by their SHA-256.

Reports and bundles are written from local files, so a remote store hands
out paths into this cache. A file enters the cache only under its true name
(it is hashed on the way in and renamed into place atomically), and every
hand-out re-checks its SHA-256, so a cached copy changed on disk is dropped
and fetched again rather than used. The cache is bounded: the least recently
used files go first, but never one handed out in the last few minutes (a
writer may still be reading it). Temporary files are ``tmp/incoming-*`` like
the local store's, so ``evidence doctor`` removes what a crash left behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from evidence.model.hashing import CHUNK_SIZE, Digests, DualHasher
from evidence.model.permissions import PRIVATE_DIR_MODE, SEALED_FILE_MODE, private_directory

logger = logging.getLogger(__name__)

_GRACE_S = 300.0
"""A file handed out this recently is never evicted."""


class ReadCache:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self._objects = root / "objects"
        self._tmp = root / "tmp"
        for directory in (root, self._objects, self._tmp):
            private_directory(directory)
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        return self._objects / sha256[:2] / sha256

    def spool(self, chunks: Iterator[bytes]) -> tuple[Path, Digests]:
        """Write ``chunks`` to a temporary file, hashing them; the caller adopts or removes it."""
        hasher = DualHasher()
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="incoming-")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    hasher.update(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, hasher.finalize()

    def adopt(self, spooled: Path, sha256: str) -> Path:
        """Move a spooled file whose digest was checked into the cache under its name."""
        target = self.path(sha256)
        target.parent.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(spooled, SEALED_FILE_MODE)
        os.replace(spooled, target)
        self.evict(keep=target)
        return target

    def lookup(self, sha256: str) -> Path | None:
        """The cached copy when it is there and still hashes to ``sha256``; else None."""
        target = self.path(sha256)
        try:
            with target.open("rb") as stream:
                digest = hashlib.sha256()
                while chunk := stream.read(CHUNK_SIZE):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        if digest.hexdigest() != sha256:
            logger.warning("cached copy of %s was changed on disk; fetching it again", sha256)
            target.unlink(missing_ok=True)
            return None
        os.utime(target)
        return target

    def evict(self, *, keep: Path | None = None) -> int:
        """Remove least recently used files until the cache is within its bound; bytes freed."""
        entries: list[tuple[float, int, Path]] = []
        total = 0
        for shard in self._objects.iterdir():
            for path in shard.iterdir() if shard.is_dir() else ():
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                total += info.st_size
                entries.append((info.st_mtime, info.st_size, path))
        freed = 0
        now = time.time()
        for mtime, size, path in sorted(entries):
            if total - freed <= self.max_bytes:
                break
            if path == keep or now - mtime < _GRACE_S:
                continue
            path.unlink(missing_ok=True)
            freed += size
        return freed
