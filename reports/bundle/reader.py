"""Reading a received bundle: a zip as ``evidence export`` writes it, or its unpacked folder.

A bundle is hostile until checked. Opening one refuses, before any file is
read, what could escape or exhaust the reader: unsafe member names (absolute,
``..``, drive letters, control characters), duplicate entries, symbolic links,
too many members, and zip bombs (total size and per-member expansion ratio,
see :class:`~reports.bundle.limits.BundleLimits`). Members are then read as
streams, never extracted: a folder's files are opened without following
symbolic links, so a file swapped for a link after listing is not followed.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from evidence.model.errors import BundleError
from evidence.model.hashing import CHUNK_SIZE
from reports.bundle.limits import BundleLimits

__all__ = ["BundleSource", "open_bundle", "read_chunks"]


class BundleSource(Protocol):
    """The files of an opened bundle, by their names inside it (``a/b.txt``)."""

    def names(self) -> list[str]: ...
    def open(self, name: str) -> IO[bytes]: ...
    def close(self) -> None: ...


def open_bundle(path: Path, limits: BundleLimits | None = None) -> BundleSource:
    """Open a zip bundle or an unpacked bundle folder, refusing what is unsafe to read.

    Raises :class:`BundleError` (one line, naming ``path``) when the bundle
    cannot be read at all or breaks a limit.
    """
    limits = limits or BundleLimits()
    if path.is_symlink():
        raise BundleError(f"{path}: the bundle itself is a symbolic link; give the real path")
    if path.is_dir():
        return _DirSource(path, limits)
    if not path.exists():
        raise BundleError(f"{path}: no such bundle")
    return _ZipSource(path, limits)


def read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """A member's bytes in bounded chunks, so memory stays flat for any size."""
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def _check_member_name(name: str) -> None:
    pure = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or ":" in name
        or ".." in pure.parts
        or any(ord(c) < 32 for c in name)
        or "//" in name
        or "." in name.split("/")
    ):
        raise BundleError(f"bundle entry {name!r} has an unsafe path")


class _ZipSource:
    def __init__(self, path: Path, limits: BundleLimits) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BundleError(f"{path}: not a readable zip bundle ({exc})") from exc
        try:
            self._names = _checked_members(self._zip.infolist(), path, limits)
        except BaseException:
            self._zip.close()
            raise

    def names(self) -> list[str]:
        return list(self._names)

    def open(self, name: str) -> IO[bytes]:
        return self._zip.open(name)

    def close(self) -> None:
        self._zip.close()


def _checked_members(infos: list[zipfile.ZipInfo], path: Path, limits: BundleLimits) -> list[str]:
    """The zip's file names, once every entry has passed the name, link and size checks."""
    if len(infos) > limits.max_members:
        raise BundleError(f"{path}: {len(infos)} entries, more than a bundle may hold")
    seen: set[str] = set()
    total = 0
    for info in infos:
        _check_member_name(info.filename)
        if info.filename in seen:
            raise BundleError(f"{path}: duplicate entry {info.filename!r}")
        seen.add(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BundleError(f"{path}: entry {info.filename!r} is a symbolic link")
        # zipfile never yields more than the declared size, so the declared
        # sizes bound what streaming can produce.
        total += info.file_size
        if total > limits.max_total_bytes:
            raise BundleError(
                f"{path}: more than {limits.max_total_bytes} bytes uncompressed "
                "(size limit; possible zip bomb)"
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise BundleError(
                f"{path}: entry {info.filename!r} expands {info.compress_size} bytes to "
                f"{info.file_size} (ratio limit {limits.max_ratio:g}; possible zip bomb)"
            )
    return [i.filename for i in infos if not i.is_dir()]


class _DirSource:
    def __init__(self, root: Path, limits: BundleLimits) -> None:
        self._root = root
        names: list[str] = []
        total = 0
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise BundleError(
                    f"{root}: {rel} is a symbolic link; bundles hold plain files only"
                )
            if path.is_file():
                names.append(rel)
                total += path.stat().st_size
                if total > limits.max_total_bytes:
                    raise BundleError(
                        f"{root}: {rel} brings the bundle over {limits.max_total_bytes} bytes "
                        "(size limit)"
                    )
            if len(names) > limits.max_members:
                raise BundleError(f"{root}: more files than a bundle may hold")
        self._names = names

    def names(self) -> list[str]:
        return list(self._names)

    def open(self, name: str) -> IO[bytes]:
        # O_NOFOLLOW: a file swapped for a symlink after listing must not be followed.
        fd = os.open(self._root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, "rb")

    def close(self) -> None:
        return None
