"""The TSA's certificate, judged as of genTime: purpose, validity, path, ESSCertID.

Long-term verification: every certificate of the path must have been valid
when the token was made, none needs to be valid now. When path validation
fails, the path is followed again by signature alone so that a CA certificate
that had expired (or not yet begun) at genTime is named as such, not reported
as an untrusted issuer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
)
from cryptography.x509.verification import VerificationError as ChainError

from anchoring import _tsa_asn1
from anchoring._tsa_common import HASH_NAMES, PREFIX, fail, one_line
from evidence.model.errors import TimestampError

_MAX_PATH: Final = 8
_ESS_HASHES: Final[dict[str, str]] = {"1.3.14.3.2.26": "sha1", **HASH_NAMES}


def check_eku(leaf: x509.Certificate) -> None:
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TimestampError(
            f"{PREFIX}: TSA certificate has no extendedKeyUsage (timeStamping required)"
        ) from None
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku.value:
        raise TimestampError(f"{PREFIX}: TSA certificate lacks the timeStamping key usage")
    if not eku.critical:
        raise TimestampError(f"{PREFIX}: TSA certificate's timeStamping EKU is not critical")


def _validity_problem(certificate: x509.Certificate, moment: datetime) -> str | None:
    """Why ``certificate`` was not valid at ``moment``, or ``None`` if it was."""
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    window = f"valid {start.isoformat()} to {end.isoformat()}"
    if moment < start:
        return f"its validity began only at {start.isoformat()}; {window}"
    if moment > end:
        return f"it had expired at {end.isoformat()}; {window}"
    return None


def check_validity(leaf: x509.Certificate, gen_time: datetime) -> None:
    problem = _validity_problem(leaf, gen_time)
    if problem is not None:
        raise TimestampError(
            f"{PREFIX}: TSA certificate was not valid at genTime {gen_time.isoformat()} ({problem})"
        )


def _require_timestamping(
    policy: Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage
) -> None:
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku:
        raise ValueError("timeStamping EKU required")


def check_chain(
    leaf: x509.Certificate,
    untrusted: list[x509.Certificate],
    roots: list[x509.Certificate],
    gen_time: datetime,
) -> list[x509.Certificate]:
    """Path validation as of genTime: the path a verifier could build back then."""
    # cryptography's client verifier with its Web PKI CA rules, except that CA
    # certificates may carry any EKU (TSA intermediates often say timeStamping)
    # and the leaf needs only a critical timeStamping EKU, no SAN.
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None
    )
    ee_policy = ExtensionPolicy.permit_all().require_present(
        x509.ExtendedKeyUsage, Criticality.CRITICAL, _require_timestamping
    )
    verifier = (
        PolicyBuilder()
        .store(Store(roots))
        .time(gen_time)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, untrusted).chain)
    except ChainError as exc:
        expired = _invalid_issuer_at(leaf, untrusted, roots, gen_time)
        if expired is not None:
            fail(expired, exc)
        fail(
            f"{PREFIX}: TSA certificate is not issued by a trusted root ({one_line(str(exc))})",
            exc,
        )


def _invalid_issuer_at(
    leaf: x509.Certificate,
    untrusted: list[x509.Certificate],
    roots: list[x509.Certificate],
    gen_time: datetime,
) -> str | None:
    """Name the CA certificate above ``leaf`` that was not valid at genTime, if any.

    Follows issuers by signature, validity aside, so that a path that failed
    only because a CA certificate had expired (or had not yet begun) at
    genTime is reported as such rather than as an untrusted issuer.
    """
    root_ders = {root.public_bytes(Encoding.DER) for root in roots}
    candidates = [*untrusted, *roots]
    current = leaf
    for _ in range(_MAX_PATH):
        issuer = next((c for c in candidates if c != current and _issued(current, c)), None)
        if issuer is None:
            return None
        is_root = issuer.public_bytes(Encoding.DER) in root_ders
        problem = _validity_problem(issuer, gen_time)
        if problem is not None:
            role = "trust root" if is_root else "intermediate CA certificate"
            return (
                f"{PREFIX}: {role} {issuer.subject.rfc4514_string()} was not valid at "
                f"genTime {gen_time.isoformat()} ({problem})"
            )
        if is_root:
            return None
        current = issuer
    return None


def _issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        # Not this candidate's signature (or name): the search moves on.
        return False
    return True


def check_signing_certificate(signer: _tsa_asn1.SignerInfoParts, leaf: x509.Certificate) -> None:
    """RFC 3161 §2.4.2 / RFC 5816: the signed ESSCertID(v2) must name the signing certificate.

    Without it a token could be re-wrapped with another certificate for the same
    key (e.g. one without the timeStamping purpose) and still carry a valid
    signature. It also binds a certificate supplied from outside the token.
    """
    try:
        ids = _tsa_asn1.signing_certificate_ids(signer)
    except ValueError as exc:
        fail(f"{PREFIX}: malformed signing-certificate attribute ({exc})", exc)
    if not ids:
        raise TimestampError(
            f"{PREFIX}: no signing-certificate attribute (ESSCertID or ESSCertIDv2)"
        )
    leaf_der = leaf.public_bytes(Encoding.DER)
    issuer_der = leaf.issuer.public_bytes()
    for ess in ids:
        label = "ESSCertID" if ess.version == 1 else "ESSCertIDv2"
        name = _ESS_HASHES.get(ess.hash_oid)
        if name is None:
            raise TimestampError(f"{PREFIX}: {label} uses unsupported hash {ess.hash_oid}")
        if not secrets.compare_digest(hashlib.new(name, leaf_der).digest(), ess.cert_hash):
            raise TimestampError(
                f"{PREFIX}: signing-certificate attribute ({label}) does not match "
                "the TSA certificate"
            )
        if ess.serial is not None and ess.serial != leaf.serial_number:
            raise TimestampError(
                f"{PREFIX}: {label} names serial {ess.serial:x}, the TSA certificate "
                f"has {leaf.serial_number:x}"
            )
        if ess.issuer_names_der and issuer_der not in ess.issuer_names_der:
            raise TimestampError(f"{PREFIX}: {label} names another issuer than the TSA's")
