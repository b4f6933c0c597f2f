"""Credentials out of every URL the toolkit stores, prints or logs.

Hosted JSON-RPC providers and commercial TSAs take credentials in the URL:
``https://user:secret@rpc.example``, ``…?apikey=…``, ``…/v3/<project key>``.
The real URL is used to connect and nowhere else; anything written to a
manifest, a bundle, a report, the database or a log gets :func:`redact_url`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

_SECRET_PARAMS = re.compile(
    r"(key|token|secret|password|passwd|pass|auth|credential|signature|sig)", re.IGNORECASE
)
# A path segment that looks like an access key: long, and made of key characters only.
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{24,}$")


def redact_url(url: str) -> str:
    """``url`` without user, password, secret-looking query values or key-like path parts.

    Anything that does not parse as a URL with a scheme and host is replaced
    whole: a redaction must never fail open.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}@{netloc}"
    path = "/".join(
        REDACTED if _KEY_SEGMENT.match(segment) and _looks_random(segment) else segment
        for segment in parts.path.split("/")
    )
    query = urlencode(
        [
            (name, REDACTED if _SECRET_PARAMS.search(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe=REDACTED,
    )
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def _looks_random(segment: str) -> bool:
    # "v3", "tsr", "timestamp" stay; a 32-character hex or base64url key does not.
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    return has_digit and has_alpha
