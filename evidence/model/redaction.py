"""Credentials out of every URL the toolkit stores, prints or logs.

Hosted JSON-RPC providers and commercial TSAs take credentials in the URL:
``https://user:secret@rpc.example``, ``…?apikey=…``, ``…/v3/<project key>``.
The real URL is used to connect and nowhere else; anything written to a
manifest, a bundle, a report, the database or a log gets :func:`redact_url`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

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
    return urlunsplit(
        (parts.scheme, netloc, _redact_path(parts.path), _redact_query(parts.query), "")
    )


def redact_target(target: str) -> str:
    """An HTTP request target (``/path?query``) as :func:`redact_url` would show it.

    What a server logs of a client's request: the client's API key in the
    query is the client's secret, not the server's to keep.
    """
    path, _, query = target.partition("?")
    shown = _redact_path(path)
    return f"{shown}?{_redact_query(query)}" if query else shown


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that :func:`redact_url` hides: password, user, key values, key segments.

    For masking a URL's credentials in text that quotes it in any form; each
    part is given as written and decoded. An unparsable URL is all secret.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    pairs = (pair.partition("=") for pair in parts.query.split("&"))
    found = [
        *(value for value in (parts.username, parts.password) if value),
        *(value for name, _, value in pairs if value and _SECRET_PARAMS.search(unquote(name))),
        *(segment for segment in parts.path.split("/") if _is_key_segment(segment)),
    ]
    return sorted({form for value in found for form in (value, unquote_plus(value))})


def _redact_path(path: str) -> str:
    return "/".join(
        REDACTED if _is_key_segment(segment) else segment for segment in path.split("/")
    )


def _redact_query(query: str) -> str:
    return urlencode(
        [
            (name, REDACTED if _SECRET_PARAMS.search(name) else value)
            for name, value in parse_qsl(query, keep_blank_values=True)
        ],
        safe=REDACTED,
    )


def _is_key_segment(segment: str) -> bool:
    # "v3", "tsr", "timestamp" stay; a 32-character hex or base64url key does not.
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    return bool(_KEY_SEGMENT.match(segment)) and has_digit and has_alpha
