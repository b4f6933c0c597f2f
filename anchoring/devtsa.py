"""The toolkit's DEVELOPMENT time-stamp authority (RFC 3161) on the loopback interface.

**Development only.** :class:`DevelopmentTSA` makes its own root CA and TSA
certificate on first use and signs tokens with ``openssl ts -reply``. Nobody
but this machine vouches for its clock or its keys, so its tokens prove
nothing to a third party: they exist so the toolkit, its tests and a demo can
run the full RFC 3161 path (request, sign, verify, ``openssl ts -verify``)
without a network. Every certificate it makes says ``DEVELOPMENT ONLY`` in its
subject, and every token it issues carries a private policy OID.

Layout under ``home/devtsa/`` (created once, reused afterwards)::

    ca.key  ca.pem      self-signed root (key mode 0600)
    tsa.key tsa.pem     TSA signing key and certificate issued by the root
    tsa.cnf             openssl ts configuration (paths relative to this folder)
    serial              openssl's serial counter
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anchoring._tsa_http import TSR_PATH, TSARequestHandler, TSAServer
from anchoring.tsa import TSAConfig
from evidence.model.child_env import child_environment
from evidence.model.errors import ConfigurationError, TimestampError
from evidence.model.secrets import secret

logger = logging.getLogger(__name__)

DEVELOPMENT_POLICY_OID: Final = "1.3.6.1.4.1.55555.1.1"
"""Policy OID stamped into every development token.

Not a registered arc of this project: 1.3.6.1.4.1.55555 is only used here as a
clearly private, made-up value so that no token of ours can be mistaken for one
issued under a real TSA's policy (1.3.6.1.4.1.4146.2.3, seen in examples
elsewhere, belongs to GlobalSign).
"""

_CA_CN: Final = "Evidence Toolkit DEVELOPMENT Root CA - not a trusted third party"
_TSA_CN: Final = "Evidence Toolkit DEVELOPMENT TSA - not a trusted third party"
_ORG: Final = "DEVELOPMENT ONLY"
_OU: Final = "Self-made test PKI - its tokens prove nothing to others"
_NOTICE: Final = (
    "DEVELOPMENT ONLY: this key and certificate were made by the Evidence Toolkit "
    "on one machine. It is not a trusted third-party time-stamp authority."
)
# Long enough that a development home never needs renewing; backdated so a
# token is inside the validity window even right after creation.
_VALIDITY: Final = dt.timedelta(days=3652)
_BACKDATE: Final = dt.timedelta(hours=1)
# RSA rather than ECDSA: every RFC 3161 verifier we know of accepts RSA, while
# some (rfc3161ng's check_timestamp among them) only handle RSA PKCS#1 v1.5.
_RSA_BITS: Final = 2048
_OPENSSL_TIMEOUT_S: Final = 30.0

# Paths in the config are relative: openssl runs with cwd = the devtsa folder,
# so a home containing '$', '#' or spaces cannot break the config syntax.
# No `certs =` line on purpose: with it OpenSSL writes the certificate SET in
# non-DER order, which rfc3161-client rejects (InvalidSetOrdering).
_TS_CONFIG: Final = f"""\
# openssl ts configuration of the Evidence Toolkit DEVELOPMENT TSA.
# DEVELOPMENT ONLY: not a trusted third party. Generated; edits are overwritten.
[ tsa ]
default_tsa = devtsa

[ devtsa ]
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.pem
signer_key = ./tsa.key
signer_digest = sha256
# Private, made-up arc (see anchoring.devtsa.DEVELOPMENT_POLICY_OID).
default_policy = {DEVELOPMENT_POLICY_OID}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
# ESSCertIDv2 (SHA-256) rather than the SHA-1 ESSCertID.
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True, slots=True)
class DevelopmentTSAPaths:
    """Files of a development TSA home (for ``openssl ts -verify -CAfile/-untrusted``)."""

    directory: Path
    ca_certificate: Path
    ca_key: Path
    tsa_certificate: Path
    tsa_key: Path
    config: Path
    serial: Path
    lock: Path


class OpensslTSA:
    """An RFC 3161 TSA that signs with ``openssl ts -reply`` from one working folder.

    The folder holds the openssl ts configuration, the serial file and a lock
    file. Every signature runs under an exclusive ``flock`` on that lock (and a
    thread lock within the process), so any number of threads and server
    processes sharing the folder never hand out the same serial.
    :meth:`start` serves RFC 3161 over HTTP in a daemon thread;
    :meth:`serve_forever` serves in the calling thread; :meth:`reply` answers
    a query in-process.
    """

    label = "TSA"
    """Names this TSA in messages and logs."""

    def __init__(self, directory: Path, *, config: Path, lock: Path) -> None:
        self._directory = directory
        self._config_path = config
        self._lock_path = lock
        # Requests within this process queue here; the flock on `lock` covers
        # other processes sharing the folder (openssl keeps the serial in a file).
        self._sign_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT/tsr`` while started."""
        if self._url is None:
            raise RuntimeError(f"{self.label} is not started")
        return self._url

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread (port 0: an ephemeral one); returns the URL."""
        if self._url is not None:
            return self._url
        server = self._bind(host, port)
        bound_host, bound_port = server.server_address[:2]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"tsa-{bound_port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        self._url = f"http://{bound_host!s}:{bound_port}{TSR_PATH}"
        logger.info("%s serving at %s", self.label, self._url)
        return self._url

    def serve_forever(
        self, host: str, port: int, *, ready: Callable[[str], None] | None = None
    ) -> None:
        """Serve in the calling thread until interrupted (``evidence tsa serve``)."""
        server = self._bind(host, port)
        bound_host, bound_port = server.server_address[:2]
        url = f"http://{bound_host!s}:{bound_port}{TSR_PATH}"
        logger.info("%s serving at %s", self.label, url)
        if ready is not None:
            ready(url)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._url = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5.0)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reply(self, query_der: bytes) -> bytes:
        """Answer one DER ``TimeStampReq`` with a DER ``TimeStampResp``.

        A query openssl cannot read still gets a (rejection) response from
        openssl; the HTTP handler screens malformed bodies out before that.
        Raises :class:`TimestampError` if openssl itself fails.
        """
        openssl = self._openssl()
        with tempfile.TemporaryDirectory(prefix="tsa-") as tmp:
            query_path = Path(tmp) / "query.tsq"
            reply_path = Path(tmp) / "reply.tsr"
            query_path.write_bytes(query_der)
            with self._serialised():
                result = subprocess.run(
                    [
                        openssl, "ts", "-reply",
                        "-config", self._config_path.name,
                        "-queryfile", str(query_path),
                        "-out", str(reply_path),
                        *self._extra_reply_args(),
                    ],
                    cwd=self._directory,
                    env=child_environment(),
                    input=self._reply_input(),
                    capture_output=True,
                    timeout=_OPENSSL_TIMEOUT_S,
                    check=False,
                )
            if result.returncode != 0 or not reply_path.exists():
                detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
                logger.warning("openssl ts -reply failed (%s): %s", result.returncode, detail)
                raise TimestampError(
                    f"{self.label}: openssl ts -reply failed with exit code "
                    f"{result.returncode}"
                )
            return reply_path.read_bytes()

    # --- internals -------------------------------------------------------

    def _extra_reply_args(self) -> list[str]:
        return []

    def _reply_input(self) -> bytes | None:
        return None

    def _bind(self, host: str, port: int) -> TSAServer:
        self._openssl()  # fail here, not on the first request
        try:
            return TSAServer((host, port), TSARequestHandler, self)
        except OSError as exc:
            raise ConfigurationError(
                f"{self.label}: cannot listen on {host}:{port}: {exc.strerror}"
            ) from exc

    def _openssl(self) -> str:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise ConfigurationError(
                f"{self.label}: the openssl command is not installed",
                hint="Install OpenSSL 3 (Debian: apt-get install openssl).",
            )
        return openssl

    @contextlib.contextmanager
    def _serialised(self) -> Iterator[None]:
        with self._sign_lock, self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class DevelopmentTSA(OpensslTSA):
    """A DEVELOPMENT-ONLY RFC 3161 time-stamp authority backed by ``openssl ts``.

    Not a trusted third party: its root CA is made on this machine by this
    class. Use it for tests and demonstrations; real evidence needs a real TSA.

    ``DevelopmentTSA(home)`` creates the CA, TSA certificate, configuration and
    serial file under ``home/devtsa/`` if they are missing and otherwise reuses
    them, so the root a user once trusted keeps verifying later tokens.
    :meth:`start` serves RFC 3161 over HTTP on ``127.0.0.1``; :meth:`reply`
    answers a query in-process.
    """

    def __init__(self, home: Path) -> None:
        directory = Path(home) / "devtsa"
        self._paths = DevelopmentTSAPaths(
            directory=directory,
            ca_certificate=directory / "ca.pem",
            ca_key=directory / "ca.key",
            tsa_certificate=directory / "tsa.pem",
            tsa_key=directory / "tsa.key",
            config=directory / "tsa.cnf",
            serial=directory / "serial",
            lock=directory / ".lock",
        )
        super().__init__(directory, config=self._paths.config, lock=self._paths.lock)
        self._ensure_files()
        self._ca_pem = self._paths.ca_certificate.read_bytes()
        self._tsa_pem = self._paths.tsa_certificate.read_bytes()

    # --- public API ------------------------------------------------------

    @property
    def paths(self) -> DevelopmentTSAPaths:
        return self._paths

    @property
    def ca_certificate_pem(self) -> bytes:
        """The self-made DEVELOPMENT root: the only trust root its tokens verify against."""
        return self._ca_pem

    @property
    def tsa_certificate_pem(self) -> bytes:
        return self._tsa_pem

    label = "development TSA (not a trusted third party)"

    def config(self, *, timeout_s: float = 10.0) -> TSAConfig:
        """A :class:`TSAConfig` for this running TSA, marked ``development=True``."""
        return TSAConfig(
            url=self.url,
            trust_roots_pem=self._ca_pem,
            development=True,
            timeout_s=timeout_s,
        )

    # --- internals -------------------------------------------------------

    def _ensure_files(self) -> None:
        paths = self._paths
        paths.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(paths.directory, 0o700)
        # Two processes opening the same fresh home must not make two CAs.
        with self._serialised():
            made_ca = False
            if not (paths.ca_key.exists() and paths.ca_certificate.exists()):
                ca_key = _new_key()
                ca_cert = _make_ca_certificate(ca_key)
                _write_atomic(paths.ca_key, _key_pem(ca_key), 0o600)
                _write_atomic(paths.ca_certificate, _cert_pem(ca_cert), 0o644)
                made_ca = True
                logger.info("made development root CA in %s", paths.directory)
            if made_ca or not (paths.tsa_key.exists() and paths.tsa_certificate.exists()):
                ca_key_loaded = serialization.load_pem_private_key(
                    paths.ca_key.read_bytes(), password=None
                )
                if not isinstance(ca_key_loaded, rsa.RSAPrivateKey):
                    raise ConfigurationError(
                        f"development TSA: {paths.ca_key} is not an RSA key"
                    )
                ca_cert = x509.load_pem_x509_certificate(paths.ca_certificate.read_bytes())
                tsa_key = _new_key()
                tsa_cert = _make_tsa_certificate(tsa_key, ca_key_loaded, ca_cert)
                _write_atomic(paths.tsa_key, _key_pem(tsa_key), 0o600)
                _write_atomic(paths.tsa_certificate, _cert_pem(tsa_cert), 0o644)
                logger.info("made development TSA certificate in %s", paths.directory)
            config = _TS_CONFIG.encode()
            if not paths.config.exists() or paths.config.read_bytes() != config:
                _write_atomic(paths.config, config, 0o644)
            if not paths.serial.exists():
                _write_atomic(paths.serial, b"00\n", 0o644)


KEY_PASSWORD_ENV: Final = "EVIDENCE_TSA_KEY_PASSWORD"
"""Environment variable holding the passphrase of an encrypted agency TSA key."""

_AGENCY_CONFIG: Final = """\
# openssl ts configuration of an agency-run TSA served by `evidence tsa serve`.
# Generated from the command line; edits are overwritten.
[ tsa ]
default_tsa = agency

[ agency ]
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.pem
signer_key = ./tsa.key
signer_digest = {signer_digest}
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = {ess_alg}
{certs_line}"""


class AgencyTSA(OpensslTSA):
    """An agency-run RFC 3161 TSA: an agency-issued certificate and key, signed by openssl.

    Nothing is generated here: the certificate (with the critical timeStamping
    extended key usage RFC 3161 requires), its key and optionally the issuing
    chain come from the agency's own CA. ``state_dir`` keeps the generated
    openssl configuration, links to the three files, the serial counter and
    its lock; several server processes given the same ``state_dir`` share one
    serial sequence safely. An encrypted key's passphrase is read from
    ``$EVIDENCE_TSA_KEY_PASSWORD``.
    """

    label = "agency TSA"

    def __init__(
        self,
        state_dir: Path,
        *,
        certificate: Path,
        key: Path,
        policy_oid: str,
        chain: Path | None = None,
        ess_cert_id_alg: str = "sha256",
    ) -> None:
        state_dir = Path(state_dir).resolve()
        super().__init__(state_dir, config=state_dir / "tsa.cnf", lock=state_dir / "serial.lock")
        if ess_cert_id_alg not in ("sha1", "sha256", "sha384", "sha512"):
            raise ConfigurationError(f"agency TSA: unsupported ESSCertID hash {ess_cert_id_alg}")
        if not re.fullmatch(r"[0-2](\.\d+)+", policy_oid):
            raise ConfigurationError(f"agency TSA: policy {policy_oid!r} is not a dotted OID")
        # Held here, not left in the environment: ``-passin env:`` would put
        # it into every openssl child's /proc/PID/environ.
        self._key_password = secret(KEY_PASSWORD_ENV)
        self.certificate_pem = _check_agency_files(certificate, key, chain, self._key_password)
        self.chain_pem = chain.read_bytes() if chain is not None else b""
        state_dir.mkdir(parents=True, exist_ok=True)
        with self._serialised():
            for name, target in (("tsa.pem", certificate), ("tsa.key", key), ("chain.pem", chain)):
                link = state_dir / name
                if link.is_symlink() or link.exists():
                    link.unlink()
                if target is not None:
                    # Links, not copies: the agency's key stays where its custodian put it.
                    link.symlink_to(Path(target).resolve())
            text = _AGENCY_CONFIG.format(
                policy=policy_oid,
                ess_alg=ess_cert_id_alg,
                signer_digest="sha256",
                certs_line="certs = ./chain.pem\n" if chain is not None else "",
            )
            _write_atomic(state_dir / "tsa.cnf", text.encode(), 0o644)
            serial = state_dir / "serial"
            if not serial.exists():
                _write_atomic(serial, b"01\n", 0o644)

    def _extra_reply_args(self) -> list[str]:
        # openssl reads the password from its standard input, which nothing
        # else in ``ts -reply -queryfile`` uses.
        return [] if self._key_password is None else ["-passin", "stdin"]

    def _reply_input(self) -> bytes | None:
        return None if self._key_password is None else self._key_password.encode() + b"\n"


def _check_agency_files(
    certificate: Path, key: Path, chain: Path | None, password: str | None
) -> bytes:
    """Refuse, with the reason, a certificate/key pair openssl could not sign with."""
    try:
        cert_pem = Path(certificate).read_bytes()
        key_pem = Path(key).read_bytes()
        chain_pem = Path(chain).read_bytes() if chain is not None else None
    except OSError as exc:
        raise ConfigurationError(f"agency TSA: cannot read {exc.filename}: {exc.strerror}") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ConfigurationError(f"agency TSA: {certificate} is not a PEM certificate") from exc
    if chain_pem is not None:
        try:
            x509.load_pem_x509_certificates(chain_pem)
        except ValueError as exc:
            raise ConfigurationError(f"agency TSA: {chain} is not PEM certificates") from exc
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or ExtendedKeyUsageOID.TIME_STAMPING not in eku.value or not eku.critical:
        raise ConfigurationError(
            f"agency TSA: {certificate} lacks the critical timeStamping extended key usage",
            hint="RFC 3161 requires extendedKeyUsage = critical, timeStamping on a TSA cert.",
        )
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ConfigurationError(
            f"agency TSA: {certificate} is not valid now (valid "
            f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()})"
        )
    try:
        private = serialization.load_pem_private_key(
            key_pem, password=password.encode() if password is not None else None
        )
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"agency TSA: cannot load the key {key} (encrypted? set {KEY_PASSWORD_ENV})"
        ) from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, public):
        raise ConfigurationError(f"agency TSA: the key {key} does not belong to {certificate}")
    return cert_pem


# --- key and certificate making --------------------------------------------


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _OU),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _development_policy() -> x509.CertificatePolicies:
    return x509.CertificatePolicies(
        [
            x509.PolicyInformation(
                x509.ObjectIdentifier(DEVELOPMENT_POLICY_OID),
                [x509.UserNotice(notice_reference=None, explicit_text=_NOTICE)],
            )
        ]
    )


def _make_ca_certificate(
    key: rsa.RSAPrivateKey, *, now: dt.datetime | None = None
) -> x509.Certificate:
    now = now or dt.datetime.now(dt.UTC)
    name = _name(_CA_CN)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_development_policy(), critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_tsa_certificate(
    key: rsa.RSAPrivateKey,
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(_TSA_CN))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - _BACKDATE)
        .not_valid_after(not_after or now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # RFC 3161 §2.3 requires exactly this, critical; openssl refuses to sign otherwise.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(_development_policy(), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    # The final mode is set before the bytes land, so a key is never readable
    # by others, and a crash never leaves a half-written file under its name.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
