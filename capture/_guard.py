"""Refusing private and loopback targets unless the caller allows them.

A capture service reachable by officers must not become a way to photograph
the agency's own intranet (routers, admin consoles, cloud metadata at
169.254.169.254) just because someone pasted such a URL.

Checked here: the requested URL (and ``goto`` steps) before the browser goes
there, and the address the page document finally came from (after
redirects, or after the page navigated itself), after the fact. A public
page's subresources, frames and fetches towards private addresses are
stopped by Chromium itself (Local Network Access) before anything is sent.
What is not stopped: an intermediate redirect hop on a private address, and
a script navigation's one request, which reaches the private host before
the capture is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from evidence.errors import InvalidURLError

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
    if allow_private or is_allowed_host(url, allowed_hosts):
        return
    host = urlsplit(url).hostname or ""
    if is_private_address(host):
        raise InvalidURLError(
            f"refusing to capture private or loopback address {host} "
            "(allow private targets explicitly to capture it)"
        )
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return
    for answer in answers:
        address = str(answer[4][0])
        if is_private_address(address):
            raise InvalidURLError(
                f"refusing to capture {host}: it resolves to private or loopback address "
                f"{address} (allow private targets explicitly to capture it)"
            )


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
