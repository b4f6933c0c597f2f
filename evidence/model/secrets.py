"""Secrets out of the process environment as soon as the command starts.

Passphrases, chain keys and credential-bearing URLs reach the ``evidence``
command through environment variables. Left in ``os.environ`` they are copied
into every child started without an explicit environment (Playwright starts
its Node.js driver with the whole of it) and sit in that child's
``/proc/PID/environ`` for as long as it runs. So the command takes them out
when it starts (:func:`withdrawn_secrets`) and the code that needs one asks
:func:`secret` for it; the values are dropped when the command ends.

A library user who never enters :func:`withdrawn_secrets` keeps the plain
behaviour: :func:`secret` reads the process environment.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, MutableMapping
from typing import Final
from urllib.parse import quote

from evidence.model.redaction import REDACTED, url_secrets

SECRET_VARIABLES: Final[frozenset[str]] = frozenset(
    {
        "EVIDENCE_OFFICER_PASSPHRASE",
        "EVIDENCE_EXPERT_KEY_PASSPHRASE",
        "EVIDENCE_CHAIN_PRIVATE_KEY",
        "EVIDENCE_CHAIN_KEYSTORE_PASSWORD",
        "EVIDENCE_TSA_KEY_PASSWORD",
        # A service user's password (evidence user add|passwd).
        "EVIDENCE_USER_PASSWORD",
        # URLs may carry user:password@, ?apikey=... or a key as a path segment.
        "EVIDENCE_RPC_URL",
        "EVIDENCE_TSA_URL",
        "EVIDENCE_TSA_URLS",
        "EVIDENCE_DATABASE_URL",
        # The S3 object store's secret key (EVIDENCE_STORE_URL=s3://...).
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
)
"""The variables :func:`withdrawn_secrets` takes out of the environment."""

_URL_VARIABLES: Final = frozenset(
    {"EVIDENCE_RPC_URL", "EVIDENCE_TSA_URL", "EVIDENCE_TSA_URLS", "EVIDENCE_DATABASE_URL"}
)

# Shorter fragments (a one-letter user name) would blank out ordinary words
# in every line; they are no secret worth the name.
_SHORTEST_MASKED = 4

_held: dict[str, str] = {}


def secret(name: str) -> str | None:
    """The value of the secret variable ``name``: withdrawn, else still in the environment."""
    if name in _held:
        return _held[name]
    return os.environ.get(name)


def held_secrets() -> dict[str, str]:
    """A copy of the withdrawn values, for code that resolves many variables at once."""
    return dict(_held)


@contextlib.contextmanager
def withdrawn_secrets(environ: MutableMapping[str, str] | None = None) -> Iterator[None]:
    """Inside the block the secrets live only here; ``environ`` no longer holds them.

    Entering replaces whatever an earlier block held (a test may run several
    commands in one process, each with its own environment); leaving forgets
    the values without putting them back, so nothing started later inherits
    them either.
    """
    source = os.environ if environ is None else environ
    _held.clear()
    for name in SECRET_VARIABLES:
        value = source.pop(name, None)
        if value is not None:
            _held[name] = value
    try:
        yield
    finally:
        _held.clear()


def mask(text: str) -> str:
    """``text`` with every held secret, and every credential in a held URL, as REDACTED.

    The last fence for text nobody redacted at its source: a library's
    debug line quoting the whole RPC URL, a traceback.
    """
    for fragment in _fragments():
        text = text.replace(fragment, REDACTED)
    return text


class MaskingFormatter(logging.Formatter):
    """A log formatter whose every line, traceback included, goes through :func:`mask`.

    With ``tracebacks=False`` a record's exception is shown as one line: a
    library that logs a handled failure with its traceback (pyHanko does, for
    a certificate path it could not build) must not print one at a user.
    """

    def __init__(self, fmt: str, *, tracebacks: bool = True) -> None:
        super().__init__(fmt)
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if not self._tracebacks and (record.exc_info or record.exc_text):
            exc = record.exc_info[1] if record.exc_info else None
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            if exc is not None:
                record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
                record.args = None
        return mask(super().format(record))


def _fragments() -> list[str]:
    found: set[str] = set()
    for name, value in _held.items():
        if name in _URL_VARIABLES:
            parts = [p for url in value.split(",") for p in url_secrets(url.strip())]
        else:
            parts = [value]
        found.update(form for part in parts for form in (part, quote(part, safe="")))
    # Longest first: a secret that contains another is masked whole.
    return sorted((f for f in found if len(f) >= _SHORTEST_MASKED), key=len, reverse=True)
