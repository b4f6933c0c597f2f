"""An officer's certificate with the CA certificates above it, checked link by link.

The agency hands over the officer's certificate together with its
intermediate CA certificates (and often the agency root). The toolkit keeps
them all, so every signature can embed the intermediates and an expert who
trusts only the agency root builds the path without being handed anything
else (``openssl cms -verify -CAfile root.pem``, no ``-untrusted``).

Each link is checked the way ``openssl verify`` would check it: the issuer
name equals the CA's subject, the signature verifies with the CA's key, the
CA certificate says ``cA=TRUE``, allows certificate signing when it has a
keyUsage, respects its path length and is valid now. What the chain does
not prove is trust: that needs a root the verifier obtained themselves.

Also here: the two forms in which a court compares a certificate with the
agency's published list, exactly as ``openssl x509 -noout -fingerprint
-sha256`` and ``-issuer -nameopt oneline,-esc_msb`` print them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from evidence.model.errors import CertificateError

_MAX_DEPTH = 8
"""More CA levels than any agency uses; a longer list is refused, not walked."""


@dataclass(frozen=True, slots=True)
class CertificateChain:
    """The officer's certificate first, then each issuer up to the last one supplied."""

    leaf: x509.Certificate = field(repr=False)
    issuers: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    """The CA certificates above ``leaf``, nearest first; the last may be a root."""

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        """What a signature embeds: every issuer except a self-signed root (the verifier
        brings its own root; one shipped inside the signature would prove nothing)."""
        return tuple(c for c in self.issuers if not is_self_issued(c))

    def to_pem(self) -> bytes:
        """The stored form: the leaf first, so a reader of the first PEM block gets it."""
        return b"".join(c.public_bytes(Encoding.PEM) for c in (self.leaf, *self.issuers))

    def __repr__(self) -> str:
        return f"CertificateChain(leaf={openssl_fingerprint(self.leaf)}, depth={len(self.issuers)})"


def openssl_fingerprint(certificate: x509.Certificate) -> str:
    """``AB:CD:…``: what ``openssl x509 -noout -fingerprint -sha256`` prints after ``=``."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def colon_fingerprint(hex_digest: str) -> str:
    """A lower-case hex SHA-256 (as the manifest and ``--json`` carry it) in openssl's form."""
    value = hex_digest.strip().lower()
    if len(value) % 2 or any(c not in "0123456789abcdef" for c in value):
        return hex_digest
    return ":".join(value[i : i + 2] for i in range(0, len(value), 2)).upper()


def openssl_name(name: x509.Name) -> str:
    """A distinguished name as ``openssl x509 -nameopt oneline,-esc_msb`` prints it:
    ``C = CN, O = …, CN = …``, in the certificate's own order (RFC 4514 reverses it)."""
    parts = []
    for rdn in name.rdns:
        for attribute in rdn:
            label = attribute.rfc4514_attribute_name
            if label == "2.5.4.5":  # pragma: no cover - cryptography names it
                label = "serialNumber"
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
            parts.append(f"{label} = {value}")
    return ", ".join(parts)


def openssl_issuer(certificate: x509.Certificate) -> str:
    return openssl_name(certificate.issuer)


def is_self_issued(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject


def load_chain_pem(pem: bytes) -> CertificateChain:
    """A stored chain (leaf first), as :meth:`CertificateChain.to_pem` wrote it."""
    certificates = x509.load_pem_x509_certificates(pem)
    return CertificateChain(certificates[0], tuple(certificates[1:]))


def build_chain(
    leaf: x509.Certificate,
    supplied: Sequence[x509.Certificate],
    *,
    now: datetime,
    who: str,
) -> CertificateChain:
    """Order ``supplied`` into the chain above ``leaf`` and check every link.

    The chain may stop below the root when the agency did not supply it (the
    verifier brings it); but every certificate supplied must be on the chain,
    and a certificate that names itself the issuer must really be it.
    Raises :class:`CertificateError` naming the first link that fails.
    """
    remaining = [c for c in supplied if c != leaf]
    issuers: list[x509.Certificate] = []
    current = leaf
    while not is_self_issued(current):
        named = [c for c in remaining if c.subject == current.issuer]
        if not named:
            break
        issuer = next((c for c in named if _signed_by(current, c)), None)
        if issuer is None:
            raise CertificateError(
                f"the chain of {who} is broken: {openssl_name(current.subject)} is not signed "
                f"by the key of {openssl_name(named[0].subject)}, which its issuer name names"
            )
        _check_ca(issuer, below=len(issuers), now=now, who=who)
        issuers.append(issuer)
        remaining.remove(issuer)
        current = issuer
        if len(issuers) > _MAX_DEPTH:
            raise CertificateError(f"the chain of {who} is longer than {_MAX_DEPTH} CAs")
    if is_self_issued(current) and current is not leaf and not _signed_by(current, current):
        raise CertificateError(
            f"the root {openssl_name(current.subject)} in the chain of {who} "
            "does not verify with its own key"
        )
    if remaining:
        raise CertificateError(
            f"{openssl_name(remaining[0].subject)} is not in the chain of {who}'s certificate "
            f"(issuer {openssl_name(leaf.issuer)}); give only the officer's certificate "
            "and the CA certificates above it"
        )
    return CertificateChain(leaf, tuple(issuers))


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _check_ca(issuer: x509.Certificate, *, below: int, now: datetime, who: str) -> None:
    """``issuer`` may issue a certificate with ``below`` CA certificates under it."""
    name = openssl_name(issuer.subject)
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CertificateError(f"{name} in the chain of {who} is not a CA (no cA=TRUE)")
    if constraints.path_length is not None and below > constraints.path_length:
        raise CertificateError(
            f"{name} in the chain of {who} allows {constraints.path_length} CA(s) below it, "
            f"not {below}"
        )
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            raise CertificateError(
                f"{name} in the chain of {who} may not sign certificates (keyUsage)"
            )
    except x509.ExtensionNotFound:
        pass
    if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
        raise CertificateError(
            f"{name} in the chain of {who} is not valid at {now.isoformat()} "
            f"(valid from {issuer.not_valid_before_utc.isoformat()} "
            f"to {issuer.not_valid_after_utc.isoformat()})"
        )
