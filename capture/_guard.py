"""Refusing private and loopback targets unless the caller allows them.

A capture service reachable by officers must not become a way to photograph
the agency's own intranet (routers, admin consoles, cloud metadata at
169.254.169.254) just because someone pasted such a URL.

Checked here, before anything is sent: the requested URL and ``goto``
steps, and (paused by the traffic recorder) every page or frame document
request, each redirect hop and each navigation the page starts itself.
Other subresources (images, scripts, fetches) of a public page towards
private addresses are stopped by Chromium itself (Local Network Access),
which judges the address it actually connects to. The address a page
document finally came from is checked once more afterwards, for a DNS answer
that changed between our lookup and the browser's (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from capture._dns import getaddrinfo_bounded
from evidence.model.errors import InvalidURLError

_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_private_address(address: str) -> bool:
    """True for loopback, private, link-local, shared and unspecified addresses."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version)


def is_allowed_host(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """True if ``url``'s ``host`` or ``host:port`` is listed in ``allowed_hosts``."""
    if not allowed_hosts:
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    wanted = {entry.strip().lower() for entry in allowed_hosts}
    return host in wanted or f"{host}:{port}" in wanted


def check_target(url: str, *, allow_private: bool, allowed_hosts: tuple[str, ...] = ()) -> None:
    """Raise :class:`InvalidURLError` if ``url``'s host is (or resolves to) a private address.

    ``url`` must already be validated. A host that does not resolve is left
    to the browser, which reports the DNS failure in its own words. Hosts in
    ``allowed_hosts`` (``host`` or ``host:port``) pass even when private.
    """
    reason = private_target_reason(url, allow_private=allow_private, allowed_hosts=allowed_hosts)
    if reason is not None:
        raise InvalidURLError(reason)


def private_target_reason(
    url: str,
    *,
    allow_private: bool,
    allowed_hosts: tuple[str, ...] = (),
    resolve_timeout_s: float | None = None,
) -> str | None:
    """Why ``url`` must not be fetched (see :func:`check_target`), or ``None``.

    With ``resolve_timeout_s`` a slow DNS answer lets the URL pass; the
    address the page finally came from is checked again afterwards.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if allow_private or parts.scheme not in ("http", "https") or not host:
        return None
    if is_allowed_host(url, allowed_hosts):
        return None
    if is_private_address(host):
        return (
            f"refusing to capture private or loopback address {host} "
            "(allow private targets explicitly to capture it)"
        )
    try:
        if resolve_timeout_s is None:
            answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        else:
            answers = getaddrinfo_bounded(host, None, resolve_timeout_s, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for answer in answers:
        address = str(answer[4][0])
        if is_private_address(address):
            return (
                f"refusing to capture {host}: it resolves to private or loopback address "
                f"{address} (allow private targets explicitly to capture it)"
            )
    return None


def check_document_address(
    url: str, address: str, *, allow_private: bool, allowed_hosts: tuple[str, ...] = ()
) -> None:
    """Refuse a page document that came from a private address (a redirect or DNS answer
    that pointed there, or a page that navigated itself there)."""
    if not address or allow_private or is_allowed_host(url, allowed_hosts):
        return
    if is_private_address(address):
        raise InvalidURLError(
            f"refusing to capture {url}: it led to private or loopback address {address}"
        )
