"""Checking and normalising the URL an officer asks to capture."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit, urlunsplit

from evidence.model.errors import InvalidURLError

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Characters left as they are when percent-encoding: the RFC 3986 reserved and
# unreserved sets plus "%", so an already-encoded URL comes out unchanged.
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"


def validate_url(url: str) -> str:
    """Return ``url`` normalised, or raise :class:`InvalidURLError`.

    Accepts absolute ``http``/``https`` URLs with a host. Normalising lower-cases
    the scheme and host, converts an internationalised host name to its ASCII
    (IDNA) form, drops a default port, gives an empty path ``/`` and
    percent-encodes non-ASCII characters in the path, query and fragment, so the
    result is what the browser will request.
    """
    if not isinstance(url, str):
        raise InvalidURLError(f"URL must be text, not {type(url).__name__}")
    text = url.strip()
    shown = _shorten(text)
    if not text:
        raise InvalidURLError("URL is empty")
    if "://" not in text:
        raise InvalidURLError(f"not an absolute URL (expected http:// or https://): {shown}")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidURLError(f"URL contains spaces or control characters: {shown}")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidURLError(f"malformed URL {shown}: {exc}") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURLError(f"not an absolute URL (expected http:// or https://): {shown}")
    if scheme not in _SCHEMES:
        raise InvalidURLError(
            f"unsupported URL scheme {scheme!r} (only http and https can be captured): {shown}"
        )
    host = parts.hostname
    if not host:
        raise InvalidURLError(f"URL has no host: {shown}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidURLError(f"URL has an invalid port: {shown}") from None
    ascii_host = _normalise_host(host, shown)

    netloc = ascii_host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username is not None:
        userinfo = parts.username
        if parts.password is not None:
            userinfo += ":" + parts.password
        netloc = f"{quote(userinfo, safe=_SAFE_PATH)}@{netloc}"

    path = quote(parts.path, safe=_SAFE_PATH) or "/"
    query = quote(parts.query, safe=_SAFE_QUERY)
    fragment = quote(parts.fragment, safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, fragment))


def _normalise_host(host: str, shown: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if any(not label for label in labels):
        raise InvalidURLError(f"URL has an invalid host name: {shown}")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidURLError(f"URL has an invalid host name: {shown}") from None
    if any(ch in ascii_host for ch in "<>\"'`{}|\\^[]"):
        raise InvalidURLError(f"URL has an invalid host name: {shown}")
    return ascii_host


def _shorten(text: str, limit: int = 200) -> str:
    # Keeps error messages one short line even for pasted garbage.
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"
