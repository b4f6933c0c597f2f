"""The data directory's own key for anchoring on its local chain: ``chain/submitter.key``.

anvil's default account is published: anyone can sign with it, so an anchor it
sent proves nothing about who sent it. Each data directory therefore anchors
with a key of its own, made here on first use. The key is written once, with
mode 0600, by link(2) from a private temporary file, so that two processes
starting together end up with one key and nobody ever reads a half-written
one. Nothing here logs, prints or echoes the key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import stat
from pathlib import Path

from evidence.model.errors import ConfigurationError

logger = logging.getLogger(__name__)

# The order of secp256k1: a private key is an integer in [1, n - 1].
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_KEY_TEXT = re.compile(r"0x[0-9a-f]{64}")
_MAX_BYTES = 256


def load_or_create(path: Path) -> str:
    """The ``0x``-hex private key in ``path``, creating the file on first use."""
    if not path.exists():
        _create(path)
    return _read(path)


def _new_key() -> str:
    while True:
        value = int.from_bytes(secrets.token_bytes(32), "big")
        if 0 < value < _CURVE_ORDER:
            return f"0x{value:064x}"


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # 0600 from the first byte: a chmod after writing would leave a window.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(_new_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # another process made this home's key first: that one stands
        _fsync_directory(path.parent)
        logger.info("created this data directory's chain submitter key %s", path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _read(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the chain submitter key {path}: {exc.strerror}"
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            raise ConfigurationError(f"the chain submitter key {path} is not a file of this user")
        if info.st_mode & 0o077:
            raise ConfigurationError(
                f"the chain submitter key {path} is readable by others "
                f"(mode {stat.S_IMODE(info.st_mode):04o})",
                hint=f"Run `chmod 600 {path}`; if others may have read it, the anchors it "
                "signs prove nothing about who sent them.",
            )
        text = handle.read(_MAX_BYTES).decode("ascii", errors="replace").strip().lower()
    # Never echo the content: it is, or nearly is, a private key.
    if not _KEY_TEXT.fullmatch(text) or not 0 < int(text, 16) < _CURVE_ORDER:
        raise ConfigurationError(f"the chain submitter key {path} is not a secp256k1 private key")
    return text


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
