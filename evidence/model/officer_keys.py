"""Officer signing keys: generation, encryption at rest, certificates, CSRs.

An officer's private key exists in one place only: an encrypted PKCS#8 PEM
file ``officers/<enforcement-id-safe>/key.pem`` under the data directory,
mode 0600, created exclusively (an existing key is never overwritten). The
database holds the public key and the certificate, never the private key.

The passphrase is an argument here; the CLI reads it from a hidden prompt or
from :data:`ENV_PASSPHRASE`. Neither the key nor the passphrase is ever
logged, printed or put into an exception message or a ``repr``.

ECDSA P-256 is the default because PDF signers, agency CAs and X.509 tooling
all accept it; Ed25519 is accepted for agencies that prefer it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from evidence.model._pkcs8 import encrypt_private_key
from evidence.model.certificate_chain import CertificateChain, build_chain
from evidence.model.errors import CertificateError, OfficerKeyError

logger = logging.getLogger(__name__)

ENV_PASSPHRASE = "EVIDENCE_OFFICER_PASSPHRASE"
ECDSA_P256 = "ecdsa-p256"
ED25519 = "ed25519"
KEY_ALGORITHMS = (ECDSA_P256, ED25519)
DEFAULT_VALIDITY_DAYS = 3 * 365
OFFICERS_DIR = "officers"
KEY_FILE = "key.pem"

OfficerPrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
OfficerPublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

# X.520 serialNumber is a PrintableString: the enforcement ID must fit it so
# the certificate carries it verbatim (no transliteration a court would query).
_PRINTABLE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]{1,64}$")
_SAFE_CHAR = re.compile(r"[A-Za-z0-9-]")


def validate_enforcement_id(enforcement_id: str) -> str:
    value = enforcement_id.strip()
    if not _PRINTABLE.match(value):
        raise OfficerKeyError(
            f"enforcement ID {enforcement_id!r} is not 1-64 letters, digits, spaces or "
            "' ( ) + , - . / : = ? (the X.509 serialNumber character set)"
        )
    return value


def safe_enforcement_id(enforcement_id: str) -> str:
    """A file-name form of an enforcement ID, one-to-one: ``A/12`` -> ``A_2f12``.

    Letters, digits and ``-`` stay; every other character becomes ``_`` and
    two hex digits, so two IDs never share a directory and no form is ``..``.
    """
    return "".join(c if _SAFE_CHAR.match(c) else f"_{ord(c):02x}" for c in enforcement_id)


def passphrase_bytes(passphrase: str | bytes, enforcement_id: str) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise OfficerKeyError(
            f"an empty passphrase is refused for officer {enforcement_id}: "
            f"the private key must be encrypted at rest (set {ENV_PASSPHRASE} or type one)"
        )
    return data


def generate_key(algorithm: str = ECDSA_P256) -> OfficerPrivateKey:
    if algorithm == ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    raise OfficerKeyError(
        f"unknown key algorithm {algorithm!r}; choose one of {', '.join(KEY_ALGORITHMS)}"
    )


def key_algorithm_of(key: OfficerPrivateKey | OfficerPublicKey | object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return ECDSA_P256
        return f"ecdsa-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ED25519
    return type(key).__name__


def public_key_pem(key: OfficerPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _sign_hash(key: OfficerPrivateKey) -> hashes.SHA256 | None:
    # Ed25519 signs the message itself; X.509 builders want no hash for it.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def officer_subject(name: str, enforcement_id: str, agency: str | None) -> x509.Name:
    name = name.strip()
    if not name:
        raise OfficerKeyError("an officer needs a name")
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, validate_enforcement_id(enforcement_id)),
    ]
    if agency and agency.strip():
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency.strip()))
    return x509.Name(attributes)


_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,  # nonRepudiation: the officer stands behind what they sign
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def self_signed_certificate(
    key: OfficerPrivateKey,
    subject: x509.Name,
    *,
    not_before: datetime,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
) -> x509.Certificate:
    if validity_days < 1:
        raise CertificateError(
            f"a certificate must be valid for at least one day, not {validity_days}"
        )
    start = not_before.replace(microsecond=0)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, _sign_hash(key))
    )


def certificate_request(
    key: OfficerPrivateKey, subject: x509.Name
) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for the agency CA, asking for signing-only key usage."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_KEY_USAGE, critical=True)
        .sign(key, _sign_hash(key))
    )


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """One or more PEM certificates, or a single DER one; one-line error otherwise."""
    if b"-----BEGIN" in data and b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError(
            "not a PEM or DER X.509 certificate (the PEM holds no '-----BEGIN CERTIFICATE-----')"
        )
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        # cryptography's message can run to several sentences; keep the first.
        detail = str(exc).split(". ")[0]
        raise CertificateError(f"not a PEM or DER X.509 certificate ({detail})") from exc


def certificate_matches_key(certificate: x509.Certificate, public_pem: bytes) -> bool:
    try:
        public = serialization.load_pem_public_key(public_pem)
        return _spki(certificate.public_key()) == _spki(public) != b""
    except (ValueError, UnsupportedAlgorithm):
        return False


def enforcement_id_of(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(values[0].value) if values else ""


def common_name_of(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _dates(certificate: x509.Certificate) -> str:
    return (
        f"valid from {certificate.not_valid_before_utc.isoformat()} "
        f"to {certificate.not_valid_after_utc.isoformat()}"
    )


def check_certificate_valid_at(
    certificate: x509.Certificate, moment: datetime, enforcement_id: str
) -> None:
    if moment < certificate.not_valid_before_utc:
        raise CertificateError(
            f"the certificate of officer {enforcement_id} is not yet valid at "
            f"{moment.isoformat()} ({_dates(certificate)})"
        )
    if moment > certificate.not_valid_after_utc:
        raise CertificateError(
            f"the certificate of officer {enforcement_id} has expired at "
            f"{moment.isoformat()} ({_dates(certificate)})"
        )


def check_signing_key_usage(certificate: x509.Certificate, enforcement_id: str) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise CertificateError(
            f"the certificate of officer {enforcement_id} does not allow signing "
            "(keyUsage lacks digitalSignature and nonRepudiation)"
        )


def select_issued_chain(
    data: bytes, public_pem: bytes, enforcement_id: str, now: datetime
) -> CertificateChain:
    """The certificate in ``data`` for this key, with the CA certificates above it.

    ``data`` is PEM (the officer's certificate and its chain, in any order) or
    one DER certificate. Refused, with one line each: no certificate for this
    key, not valid now, no signing key usage, a subject serialNumber naming
    another officer, or a chain link that does not hold (see
    :func:`evidence.model.certificate_chain.build_chain`).
    """
    candidates = load_certificates(data)
    matching = [c for c in candidates if certificate_matches_key(c, public_pem)]
    if not matching:
        raise CertificateError(
            f"the certificate does not match the key of officer {enforcement_id} "
            f"(subject {candidates[0].subject.rfc4514_string()})"
        )
    certificate = matching[0]
    check_certificate_valid_at(certificate, now, enforcement_id)
    check_signing_key_usage(certificate, enforcement_id)
    named = enforcement_id_of(certificate)
    if named and named != enforcement_id:
        raise CertificateError(
            f"the certificate names enforcement ID {named!r}, not officer {enforcement_id}"
        )
    return build_chain(certificate, candidates, now=now, who=f"officer {enforcement_id}")


@dataclass(frozen=True, slots=True)
class OfficerSigner:
    """An unlocked key with its certificate. The key stays out of ``repr``."""

    enforcement_id: str
    certificate: x509.Certificate = field(repr=False)
    key: OfficerPrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    """The intermediate CA certificates a signature embeds (no root)."""

    def __repr__(self) -> str:
        return (
            f"OfficerSigner(enforcement_id={self.enforcement_id!r}, "
            f"certificate_sha256={fingerprint(self.certificate)!r})"
        )


class Keystore:
    """Encrypted officer keys under ``<home>/officers/``."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def relative_key_path(self, enforcement_id: str) -> str:
        return f"{OFFICERS_DIR}/{safe_enforcement_id(enforcement_id)}/{KEY_FILE}"

    def create_key(
        self, enforcement_id: str, algorithm: str, passphrase: str | bytes
    ) -> tuple[OfficerPrivateKey, str]:
        """Generate, encrypt and write a new key; returns it and its relative path."""
        secret = passphrase_bytes(passphrase, enforcement_id)
        key = generate_key(algorithm)
        pem = encrypt_private_key(key, secret)
        relative = self.relative_key_path(enforcement_id)
        _write_exclusive(self.home / relative, pem, enforcement_id)
        logger.info("created %s key for officer %s at %s", algorithm, enforcement_id, relative)
        return key, relative

    def remove_new_key(self, relative: str) -> None:
        """Undo :meth:`create_key` when the officer could not be recorded."""
        (self.home / relative).unlink(missing_ok=True)

    def load_key(
        self, enforcement_id: str, relative: str, passphrase: str | bytes
    ) -> OfficerPrivateKey:
        secret = passphrase_bytes(passphrase, enforcement_id)
        path = self.home / relative
        try:
            pem = path.read_bytes()
        except FileNotFoundError as exc:
            raise OfficerKeyError(
                f"the private key of officer {enforcement_id} is missing ({path})"
            ) from exc
        except OSError as exc:
            raise OfficerKeyError(
                f"cannot read the private key of officer {enforcement_id} ({path}): {exc.strerror}"
            ) from exc
        try:
            key = serialization.load_pem_private_key(pem, password=secret)
        except TypeError as exc:
            # The file is not encrypted: refuse rather than sign with an exposed key.
            raise OfficerKeyError(
                f"the private key of officer {enforcement_id} is not encrypted ({path})"
            ) from exc
        except ValueError as exc:
            if b"ENCRYPTED PRIVATE KEY" in pem:
                raise OfficerKeyError(f"wrong passphrase for officer {enforcement_id}") from None
            raise OfficerKeyError(
                f"the private key file of officer {enforcement_id} is unreadable ({path})"
            ) from exc
        except UnsupportedAlgorithm as exc:
            raise OfficerKeyError(
                f"the private key of officer {enforcement_id} uses an unsupported algorithm"
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise OfficerKeyError(
                f"the private key of officer {enforcement_id} is {type(key).__name__}; "
                f"expected one of {', '.join(KEY_ALGORITHMS)}"
            )
        return key


def load_signer(
    keystore: Keystore,
    enforcement_id: str,
    relative: str,
    passphrase: str | bytes,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...] = (),
) -> OfficerSigner:
    """Unlock an officer's key and pair it with their certificate (which must match)
    and the intermediate CA certificates above it."""
    key = keystore.load_key(enforcement_id, relative, passphrase)
    if _spki(certificate.public_key()) != _spki(key.public_key()):
        raise CertificateError(
            f"the certificate of officer {enforcement_id} is not for the key in {relative}"
        )
    return OfficerSigner(enforcement_id, certificate, key, chain)


def _write_exclusive(path: Path, data: bytes, enforcement_id: str) -> None:
    """Write ``data`` to a new file, mode 0600, atomically, never replacing one.

    The bytes go to a temporary name first (O_EXCL, 0600) and are fsynced, then
    hard-linked to the final name, which fails if that exists: a crash leaves
    either no key or a whole one, and an existing key is never overwritten.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise OfficerKeyError(
            f"cannot create the key directory {path.parent}: {exc.strerror}"
        ) from exc
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
    except OSError as exc:
        raise OfficerKeyError(f"cannot create a key file in {path.parent}: {exc.strerror}") from exc
    try:
        try:
            os.fchmod(fd, 0o600)  # a umask can only drop bits, but be explicit
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise OfficerKeyError(
                f"a key file for officer {enforcement_id} already exists at {path}; "
                "it is never overwritten (move it away if it is really unused)"
            ) from exc
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise OfficerKeyError(f"cannot write the key file {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


CAPTURE_ROLE = "capture"
COSIGN_ROLE = "cosign"
SIGNATURE_ROLES = (CAPTURE_ROLE, COSIGN_ROLE)
"""The capturing officer signs first; a second officer co-signs later."""
