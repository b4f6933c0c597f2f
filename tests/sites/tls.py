"""A throw-away test CA and the demo site served over HTTPS on 127.0.0.1.

The CA is made fresh per test session with ``cryptography``; nothing on the
machine trusts it, which is exactly the situation the capture must record
(not hide): an HTTPS page whose certificate does not lead to a trusted root.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidence.services import demo_site


@dataclass(frozen=True)
class Pki:
    ca_pem: Path
    cert_chain_pem: Path
    """Server certificate followed by the CA certificate, as the server sends them."""
    key_pem: Path
    ca: x509.Certificate
    leaf: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evidence Toolkit Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_pki(directory: Path) -> Pki:
    """A CA and a server certificate for ``127.0.0.1`` and ``localhost``, valid for a day."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Evidence Toolkit Test CA (untrusted)")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "test-ca.pem"
    chain_pem = directory / "server-chain.pem"
    key_pem = directory / "server-key.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain_pem.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Pki(ca_pem, chain_pem, key_pem, ca, leaf)


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self._context = context

    def get_request(self) -> tuple[ssl.SSLSocket, object]:
        sock, address = super().get_request()
        # The handshake runs in the handler's thread (do_handshake_on_connect
        # would block the accept loop on a client that never speaks TLS).
        return self._context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request: object, client_address: object) -> None:
        # Handshake aborts by probing clients are expected; keep test output clean.
        pass


class HttpsDemoSite:
    """The demo site's pages served over TLS with a certificate from ``pki``."""

    def __init__(self, pki: Pki) -> None:
        self._pki = pki
        self._server: _TlsServer | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}/"

    def url_for(self, path: str) -> str:
        return self.url + path.lstrip("/")

    def __enter__(self) -> HttpsDemoSite:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._pki.cert_chain_pem, self._pki.key_pem)
        handler = type("_TlsHandler", (demo_site._Handler,), {"stop_event": self._stop})
        self._server = _TlsServer(("127.0.0.1", 0), handler, context)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._stop.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None
