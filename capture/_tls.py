"""The certificate chain an HTTPS origin presents, fetched and checked independently.

Chromium 156 answers ``Network.getCertificate`` with an empty list, so the chain
comes from a separate TLS connection made right after the page was captured.
Python 3.11's ``ssl`` module can give the chain as served: the C-level
``get_unverified_chain`` exists since 3.10 and became public
(``SSLSocket.get_unverified_chain``) in 3.13; this avoids pyOpenSSL and its
``WantReadError`` loop under socket timeouts. When a build lacks it, only the
leaf is kept and the record says so.

The handshake itself trusts nothing (``CERT_NONE``), so a page with a broken
certificate still yields its chain; trust is decided afterwards by
``cryptography``'s RFC 5280 path validation against the system roots (plus any
extra roots), and a failure is recorded, never hidden.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
import ssl
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

logger = logging.getLogger(__name__)

TLS_TIMEOUT_S = 5.0

# Debian's bundle; ssl.get_default_verify_paths() names it on most systems.
_FALLBACK_CA_FILE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True, slots=True)
class ServedChain:
    """What one TLS handshake with an origin produced."""

    host: str
    port: int
    certificates: tuple[x509.Certificate, ...]
    """Leaf first, as the server sent them."""
    protocol: str
    cipher: str
    error: str | None
    """Why no chain could be read (connection refused, handshake failure...)."""
    chain_complete: bool
    """False when only the leaf could be read (no ``get_unverified_chain``)."""

    def pem(self) -> list[str]:
        return [c.public_bytes(Encoding.PEM).decode("ascii") for c in self.certificates]

    def fingerprints(self) -> list[str]:
        return [hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest() for c in self.certificates]


def fetch_chain(host: str, port: int, timeout_s: float = TLS_TIMEOUT_S) -> ServedChain:
    """Connect to ``host:port``, complete a handshake with SNI and read the served chain."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Nothing is trusted here on purpose: the chain is wanted even when it is bad.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    server_name = None if _is_ip(host) else host
    try:
        with (
            socket.create_connection((host, port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            ders = _served_ders(tls)
            cipher = tls.cipher()
            protocol = tls.version() or ""
    except (OSError, ssl.SSLError) as exc:
        return ServedChain(host, port, (), "", "", _describe(exc), False)
    certificates = tuple(x509.load_der_x509_certificate(der) for der in ders[0])
    return ServedChain(
        host=host,
        port=port,
        certificates=certificates,
        protocol=protocol,
        cipher=cipher[0] if cipher else "",
        error=None if certificates else "the server presented no certificate",
        chain_complete=ders[1],
    )


def _served_ders(tls: ssl.SSLSocket) -> tuple[list[bytes], bool]:
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        chain = getter() or []
        return [bytes(cert.public_bytes(ssl._ssl.ENCODING_DER)) for cert in chain], True  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)
    return ([leaf] if leaf else []), False


def verify_chain(chain: ServedChain, at: datetime, extra_roots: Path | None = None) -> str | None:
    """``None`` when the chain leads to a trusted root for the host at ``at``, else why not."""
    if not chain.certificates:
        return chain.error or "no certificate"
    roots = _trust_roots(extra_roots)
    if not roots:
        return "not checked: no trust roots found on this system"
    builder = PolicyBuilder().store(Store(roots)).time(at.astimezone(UTC).replace(tzinfo=None))
    subject: Subject
    if _is_ip(chain.host):
        subject = x509.IPAddress(ipaddress.ip_address(chain.host))
    else:
        subject = x509.DNSName(chain.host)
    try:
        verifier = builder.build_server_verifier(subject)
        verifier.verify(chain.certificates[0], list(chain.certificates[1:]))
    except VerificationError as exc:
        return f"certificate chain not trusted: {exc}"
    except ValueError as exc:
        return f"certificate chain could not be checked: {exc}"
    return None


def _trust_roots(extra_roots: Path | None) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    paths = ssl.get_default_verify_paths()
    candidates = [Path(p) for p in (paths.cafile, paths.openssl_cafile) if p]
    candidates.append(_FALLBACK_CA_FILE)
    for candidate in candidates:
        if candidate.is_file():
            roots.extend(_load_pems(candidate))
            break
    if extra_roots is not None:
        roots.extend(_load_pems(extra_roots))
    return roots


def _load_pems(path: Path) -> list[x509.Certificate]:
    try:
        with warnings.catch_warnings():
            # A few old roots in system bundles have non-positive serial numbers.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        logger.warning("could not read trust roots from %s", path, exc_info=True)
        return []


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "TLS connection timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"TLS connection failed: {exc.strerror}"
    return f"TLS connection failed: {exc}"
