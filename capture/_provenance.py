"""Where the captured content came from: host names, DNS answers, TLS certificate chains.

DNS answers are the capture machine's OS resolver's view (``getaddrinfo``) at
capture time, not the browser's own resolver or cache: Chromium exposes no
DNS log over CDP. The address the browser actually connected to is recorded
per request (``WARC-IP-Address``); both together show a mismatch if any.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import logging
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from capture._tls import ServedChain, fetch_chain, verify_chain
from evidence.model.capture_record import HostRecord, TlsOrigin
from evidence.model.records import isoformat

logger = logging.getLogger(__name__)

DNS_TIMEOUT_S = 3.0
TLS_CHAINS_FORMAT = "evidence-toolkit/tls-chains/v1"
TLS_CHAINS_NOTE = (
    "Each chain was read by a separate TLS connection from the capture machine right after "
    "the page was captured (Chromium does not expose the chain it was served). That handshake "
    "trusted nothing; the chain was then checked against the system trust roots (and any "
    "configured extra roots) for the host name at capture time. 'browser' holds what the "
    "capturing browser itself reported for the origin."
)


def host_names(host: str) -> tuple[str, str]:
    """``(ascii, unicode)`` forms of a host name; IP literals and plain names map to themselves."""
    bare = host.strip("[]").lower()
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        return bare, bare
    try:
        ascii_host = bare.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = bare
    try:
        unicode_host = ascii_host.encode("ascii").decode("idna")
    except UnicodeError:
        unicode_host = ascii_host
    return ascii_host, unicode_host


def contacted_hosts(urls: Iterable[str]) -> list[str]:
    """The ASCII host names of http(s) URLs, in first-seen order."""
    seen: dict[str, None] = {}
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            seen.setdefault(host_names(parts.hostname)[0], None)
    return list(seen)


def https_origins(urls: Iterable[str]) -> list[tuple[str, str, int]]:
    """``(origin, ascii host, port)`` of each HTTPS origin, in first-seen order."""
    seen: dict[str, tuple[str, str, int]] = {}
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            continue
        host = host_names(parts.hostname)[0]
        port = parts.port or 443
        shown = f"[{host}]" if ":" in host else host
        origin = f"https://{shown}" + ("" if port == 443 else f":{port}")
        seen.setdefault(origin, (origin, host, port))
    return list(seen.values())


def resolve_hosts(hosts: Iterable[str], timeout_s: float = DNS_TIMEOUT_S) -> tuple[HostRecord, ...]:
    """A/AAAA answers for each host from the OS resolver, all asked at once, bounded in time."""
    names = list(hosts)
    if not names:
        return ()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(names)))
    try:
        futures = {name: pool.submit(_resolve, name) for name in names}
        concurrent.futures.wait(futures.values(), timeout=timeout_s)
        records = []
        for name, future in futures.items():
            ascii_host, unicode_host = host_names(name)
            if not future.done():
                records.append(
                    HostRecord(ascii_host, unicode_host, (), f"no answer within {timeout_s:g} s")
                )
                continue
            addresses, error = future.result()
            records.append(HostRecord(ascii_host, unicode_host, addresses, error))
        return tuple(records)
    finally:
        # getaddrinfo cannot be interrupted; a stuck lookup is left to finish alone.
        pool.shutdown(wait=False, cancel_futures=True)


def _resolve(host: str) -> tuple[tuple[str, ...], str | None]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (host,), None
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        return (), f"not resolved: {exc.strerror or exc}"
    except (OSError, UnicodeError) as exc:
        return (), f"not resolved: {exc}"
    addresses: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in answers:
        addresses.setdefault(str(sockaddr[0]), None)
    return tuple(addresses), None


@dataclass(frozen=True, slots=True)
class TlsProvenance:
    origins: tuple[TlsOrigin, ...]
    document: dict[str, Any]
    """The ``tls-chains.json`` content, PEM chains included."""
    warnings: tuple[str, ...]


def collect_tls(
    origins: list[tuple[str, str, int]],
    browser_details: Mapping[str, Mapping[str, Any]],
    checked_at: datetime,
    extra_roots: Path | None = None,
) -> TlsProvenance:
    """Fetch and check each HTTPS origin's chain (in parallel); compare with the browser's view."""
    if not origins:
        return TlsProvenance((), _document([]), ())
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(origins))) as pool:
        chains = list(pool.map(lambda o: fetch_chain(o[1], o[2]), origins))
    records: list[TlsOrigin] = []
    entries: list[dict[str, Any]] = []
    warnings: list[str] = []
    for (origin, host, port), chain in zip(origins, chains, strict=True):
        browser = dict(browser_details.get(origin, {}))
        error = verify_chain(chain, checked_at, extra_roots)
        if chain.certificates and not chain.chain_complete:
            error = (error + "; " if error else "") + "only the leaf certificate could be read"
        if error:
            warnings.append(f"TLS certificate of {origin}: {error}")
        mismatch = _browser_mismatch(chain, browser)
        if mismatch:
            warnings.append(f"TLS certificate of {origin}: {mismatch}")
        records.append(_origin_record(origin, chain, browser, error))
        entries.append(
            {
                "origin": origin,
                "host": host,
                "unicode_host": host_names(host)[1],
                "port": port,
                "fetched_at": isoformat(checked_at),
                "protocol": chain.protocol,
                "cipher": chain.cipher,
                "chain_pem": chain.pem(),
                "chain_sha256": chain.fingerprints(),
                "chain_complete": chain.chain_complete,
                "fetch_error": chain.error,
                "certificate_error": error,
                "browser_mismatch": mismatch,
                "browser": _browser_view(browser),
            }
        )
    return TlsProvenance(tuple(records), _document(entries), tuple(warnings))


def tls_document_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": TLS_CHAINS_FORMAT, "note": TLS_CHAINS_NOTE, "origins": entries}


def _origin_record(
    origin: str, chain: ServedChain, browser: Mapping[str, Any], error: str | None
) -> TlsOrigin:
    if chain.certificates:
        leaf = chain.certificates[0]
        subject = leaf.subject.rfc4514_string()
        issuer = leaf.issuer.rfc4514_string()
        not_before: datetime | None = leaf.not_valid_before_utc
        not_after: datetime | None = leaf.not_valid_after_utc
        sans = _sans(leaf)
    else:
        # Only the browser's summary is left when the separate connection failed.
        subject = str(browser.get("subjectName", ""))
        issuer = str(browser.get("issuer", ""))
        not_before = _epoch(browser.get("validFrom"))
        not_after = _epoch(browser.get("validTo"))
        sans = tuple(str(s) for s in browser.get("sanList", ()))
    return TlsOrigin(
        origin=origin,
        protocol=str(browser.get("protocol") or chain.protocol),
        cipher=str(browser.get("cipher") or chain.cipher),
        subject=subject,
        issuer=issuer,
        not_before=not_before,
        not_after=not_after,
        subject_alt_names=sans,
        chain_sha256=tuple(chain.fingerprints()),
        certificate_error=error,
    )


def _browser_view(browser: Mapping[str, Any]) -> dict[str, Any] | None:
    if not browser:
        return None
    keys = (
        "protocol",
        "keyExchange",
        "keyExchangeGroup",
        "cipher",
        "subjectName",
        "sanList",
        "issuer",
        "validFrom",
        "validTo",
        "certificateTransparencyCompliance",
        "serverSignatureAlgorithm",
        "encryptedClientHello",
    )
    return {key: browser[key] for key in keys if key in browser}


def _browser_mismatch(chain: ServedChain, browser: Mapping[str, Any]) -> str | None:
    """Whether the separate connection saw another leaf than the browser (load balancers...)."""
    if not chain.certificates or not browser:
        return None
    leaf = chain.certificates[0]
    valid_from, valid_to = _epoch(browser.get("validFrom")), _epoch(browser.get("validTo"))
    if valid_from is None or valid_to is None:
        return None
    if (
        abs((valid_from - leaf.not_valid_before_utc).total_seconds()) > 1
        or abs((valid_to - leaf.not_valid_after_utc).total_seconds()) > 1
    ):
        return (
            "the separate TLS connection was served a different certificate than the browser "
            "(validity differs); the chain stored may not be the one the browser saw"
        )
    return None


def _sans(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names = [str(v) for v in extension.value.get_values_for_type(x509.DNSName)]
    names += [str(v) for v in extension.value.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def _epoch(value: object) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(float(value), UTC)
    return None
