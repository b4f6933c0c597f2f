"""SHA-256 and SM3 (GB/T 32905) computed together in one streaming read.

SM3 comes from ``cryptography`` (it ships in the wheel), not ``hashlib``,
whose SM3 depends on how the system OpenSSL was built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Digests:
    """Size and hex digests of one byte string or file."""

    size: int
    sha256: str
    sm3: str


class DualHasher:
    """Feeds the same bytes to SHA-256 and SM3.

    Both hash implementations release the GIL on large buffers, so for big
    chunks SHA-256 runs on a helper thread while SM3 runs on the caller's:
    the pair then costs about as much as SM3 alone instead of the sum of both.
    """

    PARALLEL_THRESHOLD = 64 * 1024

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sm3 = hashes.Hash(hashes.SM3())
        self._size = 0
        self._done: Digests | None = None
        self._pool: ThreadPoolExecutor | None = None

    def update(self, data: bytes | memoryview) -> None:
        if self._done is not None:
            raise ValueError("hasher already finalised")
        chunk = bytes(data) if isinstance(data, memoryview) else data
        if len(chunk) >= self.PARALLEL_THRESHOLD:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
            pending = self._pool.submit(self._sha256.update, chunk)
            self._sm3.update(chunk)
            pending.result()
        else:
            self._sha256.update(chunk)
            self._sm3.update(chunk)
        self._size += len(chunk)

    def finalize(self) -> Digests:
        if self._done is None:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
            self._done = Digests(
                size=self._size,
                sha256=self._sha256.hexdigest(),
                sm3=self._sm3.finalize().hex(),
            )
        return self._done


def digest_bytes(data: bytes) -> Digests:
    hasher = DualHasher()
    hasher.update(data)
    return hasher.finalize()


def digest_chunks(chunks: Iterable[bytes]) -> Digests:
    hasher = DualHasher()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.finalize()


def digest_stream(stream: BinaryIO) -> Digests:
    hasher = DualHasher()
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
    return hasher.finalize()


def digest_file(path: Path) -> Digests:
    with path.open("rb") as stream:
        return digest_stream(stream)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
