"""Shared by the time-stamp modules: message prefix, imprint hashes, one-line errors."""

from __future__ import annotations

import re
from typing import Final, NoReturn

from evidence.model.errors import TimestampError

PREFIX: Final = "timestamp token"
HASH_OIDS: Final[dict[str, str]] = {
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}
"""Message-imprint algorithms accepted, by name."""
HASH_NAMES: Final[dict[str, str]] = {oid: name for name, oid in HASH_OIDS.items()}


def hash_key(name: str) -> str:
    """``SHA-256``, ``sha_256`` … → ``sha256``."""
    return name.lower().replace("-", "").replace("_", "")


def fail(message: str, cause: BaseException) -> NoReturn:
    """Raise :class:`TimestampError` with ``message``, chained to ``cause``."""
    raise TimestampError(message) from cause


_WHITESPACE = re.compile(r"\s+")


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = _WHITESPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
