"""Refusing private and loopback targets unless the caller allows them.

A capture service reachable by officers must not become a way to photograph
the agency's own intranet (routers, admin consoles, cloud metadata at
169.254.169.254) just because someone pasted such a URL.
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


def check_target(url: str, *, allow_private: bool) -> None:
    """Raise :class:`InvalidURLError` if ``url``'s host is (or resolves to) a private address.

    ``url`` must already be validated. A host that does not resolve is left
    to the browser, which reports the DNS failure in its own words.
    """
    if allow_private:
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
