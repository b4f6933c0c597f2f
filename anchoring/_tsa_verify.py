"""Verification of RFC 3161 responses for the long term: every check named.

A token is judged as of its own ``genTime``: the TSA certificate and every
certificate of its path must have been valid then, and none needs to be valid
now (:mod:`anchoring._tsa_certificates`). That is what makes evidence
checkable years later, after the TSA certificate has expired, and what
``openssl ts -verify -attime <genTime>`` does. The verifier's clock only bounds
the token from the other side: a genTime after "now" is refused.

Our own named checks run first, each failing with a message that says which
check failed, the CMS signature among them, over the exact signed bytes
(:mod:`anchoring._cms_signature`). rfc3161-client's verifier (OpenSSL's
PKCS #7 verification underneath) then re-checks the lot as an independent
second opinion. It is stricter about encoding than real TSAs are, so it reads
a copy of the response whose certificate SETs are in DER order, with the TSA's
certificate added when the token did not carry it. That is sound because those
SETs are outside the signature (RFC 5652 §5.1): the copy has the same signed
content, signed attributes and signature byte for byte, which
:func:`anchoring._tsa_asn1.with_certificates` checks, and our own signature
check never looks at the copy.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (
    PKIStatus,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)
from rfc3161_client.tsp import TimeStampTokenInfo

from anchoring import _tsa_asn1
from anchoring._cms_signature import check_token_signature
from anchoring._tsa_certificates import (
    check_chain,
    check_eku,
    check_signing_certificate,
    check_validity,
)
from anchoring._tsa_common import HASH_NAMES, HASH_OIDS, PREFIX, fail, hash_key, one_line
from evidence.model.errors import TimestampError

logger = logging.getLogger(__name__)

CLOCK_TOLERANCE: Final = timedelta(minutes=10)
"""How far a genTime may lie after the verifier's clock (the two clocks differ)."""

_STATUS_NAMES: Final[dict[int, str]] = {
    0: "granted",
    1: "grantedWithMods",
    2: "rejection",
    3: "waiting",
    4: "revocationWarning",
    5: "revocationNotification",
}


@dataclass(frozen=True, slots=True)
class TimestampVerification:
    """What a verified token says. Every field comes from the signed ``TSTInfo``,
    from the certificate path that was checked, or from the verification itself."""

    gen_time: datetime
    """Aware UTC, with the TSA's fractional seconds."""
    serial: int
    policy: str
    tsa_subject: str
    """RFC 4514 subject of the TSA signing certificate."""
    hash_algorithm: str
    imprint: str
    """Lower-case hex of the time-stamped digest."""
    nonce: int | None
    token_der: bytes
    tsa_certificate_pem: bytes
    """The signing certificate, then any intermediates of the verified path."""
    trust_anchor_pem: bytes
    """The configured root the path ended at."""
    tsa_certificate_not_after: datetime
    """End of the signing certificate's validity; it may lie before ``checked_at``."""
    checked_at: datetime
    """The verifier's clock. Certificates were judged at genTime, not at this time."""

    @property
    def tsa_certificate_expired(self) -> bool:
        """Whether the TSA certificate has expired since genTime (valid then, not now)."""
        return self.tsa_certificate_not_after < self.checked_at


@dataclass(frozen=True, slots=True)
class _Inputs:
    response_der: bytes
    digest: bytes
    roots: list[x509.Certificate]
    supplied: list[x509.Certificate]
    nonce: int | None
    hash_algorithm: str | None
    now: datetime


def verify_response(
    response_der: bytes,
    digest: bytes,
    trust_roots_pem: bytes,
    *,
    nonce: int | None,
    hash_algorithm: str | None,
    tsa_certificates_pem: bytes | None,
    now: datetime | None,
) -> TimestampVerification:
    """:func:`anchoring.tsa.verify_timestamp`; malformed input of any kind fails it."""
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    try:
        inputs = _Inputs(
            response_der=response_der,
            digest=digest,
            roots=_load_certificates(trust_roots_pem, "trust roots"),
            supplied=(
                []
                if tsa_certificates_pem is None
                else _load_certificates(tsa_certificates_pem, "TSA certificates")
            ),
            nonce=nonce,
            hash_algorithm=hash_algorithm,
            now=(now or datetime.now(UTC)).astimezone(UTC),
        )
        return _verify(inputs)
    except TimestampError:
        raise
    except Exception as exc:
        fail(f"{PREFIX}: unreadable ({type(exc).__name__}: {one_line(str(exc))})", exc)
    except BaseException as exc:
        # rfc3161-client's Rust parser panics on some malformed nested
        # structures; pyo3 raises that as PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        fail(f"{PREFIX}: unreadable (parser panic: {one_line(str(exc))})", exc)


def _verify(inputs: _Inputs) -> TimestampVerification:
    token_der = _split(inputs.response_der)
    response = _parse(inputs.response_der)
    _check_status(response)
    if token_der is None:
        raise TimestampError("timestamp response: status granted but no token")
    token = _read_token(token_der)
    info = _guard(lambda: response.tst_info, "TSTInfo")
    gen_time = _read_gen_time(token.tst_info, info)

    leaf, others = _signer_certificate(response, token, inputs.supplied)
    # The signature first: until it holds, nothing read from the token is the TSA's word.
    check_token_signature(token, leaf)
    check_eku(leaf)
    check_validity(leaf, gen_time)
    chain = check_chain(leaf, others, inputs.roots, gen_time)
    check_signing_certificate(token.signer, leaf)
    _check_not_after_now(gen_time, inputs.now)
    algorithm, imprinted = _check_imprint(info, inputs.digest, inputs.hash_algorithm)
    token_nonce = _guard(lambda: info.nonce, "nonce")
    if inputs.nonce is not None and token_nonce != inputs.nonce:
        raise TimestampError(
            f"{PREFIX}: nonce mismatch (expected {inputs.nonce}, token has {token_nonce})"
        )
    _second_opinion(inputs, token, response, leaf, chain)

    policy = _guard(lambda: info.policy, "policy")
    return TimestampVerification(
        gen_time=gen_time,
        serial=int(_guard(lambda: info.serial_number, "serial number")),
        policy=policy.dotted_string if policy is not None else "",
        tsa_subject=leaf.subject.rfc4514_string(),
        hash_algorithm=algorithm,
        imprint=imprinted.hex(),
        nonce=None if token_nonce is None else int(token_nonce),
        token_der=token_der,
        tsa_certificate_pem=b"".join(c.public_bytes(Encoding.PEM) for c in [leaf, *chain[1:-1]]),
        trust_anchor_pem=chain[-1].public_bytes(Encoding.PEM),
        tsa_certificate_not_after=leaf.not_valid_after_utc,
        checked_at=inputs.now,
    )


# --- reading -----------------------------------------------------------------------


def _load_certificates(pem: bytes, what: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        fail(f"{what}: not readable PEM certificates ({one_line(str(exc))})", exc)
    unique: dict[bytes, x509.Certificate] = {}
    for certificate in certificates:
        unique.setdefault(certificate.public_bytes(Encoding.DER), certificate)
    return list(unique.values())


def _split(response_der: bytes) -> bytes | None:
    try:
        return _tsa_asn1.split_response(response_der)[1]
    except ValueError as exc:
        fail(f"timestamp response: not a DER TimeStampResp ({exc})", exc)


def _parse(response_der: bytes) -> TimeStampResponse:
    try:
        canonical = _tsa_asn1.sort_certificate_sets(response_der)
    except ValueError as exc:
        fail(f"timestamp response: not a DER TimeStampResp ({exc})", exc)
    if canonical != response_der:
        logger.info("timestamp response: certificate SET not in DER order; checking it sorted")
    try:
        return decode_timestamp_response(canonical)
    except ValueError as exc:
        fail(f"timestamp response: rfc3161-client cannot parse it ({one_line(str(exc))})", exc)


def _check_status(response: TimeStampResponse) -> None:
    status = int(response.status)
    if status != PKIStatus.GRANTED:
        texts = "; ".join(one_line(text) for text in response.status_string)
        name = _STATUS_NAMES.get(status, "unknown")
        raise TimestampError(
            f"timestamp response: TSA did not grant the request "
            f"(status {status} {name}{': ' + texts if texts else ''})"
        )


def _read_token(token_der: bytes) -> _tsa_asn1.TokenParts:
    try:
        return _tsa_asn1.read_token(token_der)
    except ValueError as exc:
        fail(f"{PREFIX}: malformed token ({exc})", exc)


def _read_gen_time(tst_info: bytes, info: TimeStampTokenInfo) -> datetime:
    """genTime of the signed TSTInfo, read by two parsers that must agree."""
    try:
        gen_time = _tsa_asn1.gen_time(tst_info)
    except ValueError as exc:
        fail(f"{PREFIX}: malformed TSTInfo: {exc}", exc)
    library_time = _guard(lambda: info.gen_time, "genTime")
    if abs((library_time - gen_time).total_seconds()) >= 1:
        raise TimestampError(f"{PREFIX}: genTime could not be read consistently")
    return gen_time


def _signer_certificate(
    response: TimeStampResponse, token: _tsa_asn1.TokenParts, supplied: list[x509.Certificate]
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The certificate the SignerInfo names, from the token or else from ``supplied``.

    Like ``openssl ts -verify -untrusted``: supplied certificates only help find
    the signer and its path; trust still comes from the roots alone.
    """
    signed = _guard(lambda: response.signed_data, "SignedData")
    signers = list(_guard(lambda: signed.signer_infos, "SignerInfo"))
    if len(signers) != 1:
        raise TimestampError(f"{PREFIX}: expected one signer, found {len(signers)}")
    issuer = _guard(lambda: signers[0].issuer, "SignerInfo issuer")
    serial = _guard(lambda: signers[0].serial_number, "SignerInfo serial")
    embedded_der = token.certificates or ()
    pool: dict[bytes, x509.Certificate] = {}
    for der in embedded_der:
        try:
            pool.setdefault(der, x509.load_der_x509_certificate(der))
        except ValueError as exc:
            fail(f"{PREFIX}: an embedded certificate is malformed ({one_line(str(exc))})", exc)
    for certificate in supplied:
        pool.setdefault(certificate.public_bytes(Encoding.DER), certificate)
    leaf = next(
        (c for c in pool.values() if c.issuer == issuer and c.serial_number == serial), None
    )
    if leaf is None:
        carried = "carries no certificate" if not embedded_der else "does not carry it"
        given = (
            "none of the TSA certificates supplied is it"
            if supplied
            else "no TSA certificate was supplied from the trust configuration"
        )
        raise TimestampError(
            f"{PREFIX}: TSA signing certificate not found (issuer {issuer.rfc4514_string()}, "
            f"serial {serial:x}): the token {carried} and {given}"
        )
    return leaf, [c for c in pool.values() if c is not leaf]


# --- content checks ---------------------------------------------------------------------


def _check_not_after_now(gen_time: datetime, now: datetime) -> None:
    if gen_time > now + CLOCK_TOLERANCE:
        raise TimestampError(
            f"{PREFIX}: genTime {gen_time.isoformat()} lies after the verification time "
            f"{now.isoformat()} (by more than {CLOCK_TOLERANCE}): the TSA's clock or the "
            "verifier's is wrong"
        )


def _check_imprint(
    info: TimeStampTokenInfo, digest: bytes, expected_algorithm: str | None
) -> tuple[str, bytes]:
    imprint = _guard(lambda: info.message_imprint, "message imprint")
    algorithm_oid = _guard(lambda: imprint.hash_algorithm, "message imprint").dotted_string
    algorithm = HASH_NAMES.get(algorithm_oid)
    if algorithm is None:
        raise TimestampError(f"{PREFIX}: unsupported message imprint algorithm {algorithm_oid}")
    if (
        expected_algorithm is not None
        and HASH_OIDS.get(hash_key(expected_algorithm)) != algorithm_oid
    ):
        raise TimestampError(
            f"{PREFIX}: message imprint uses {algorithm}, expected {expected_algorithm}"
        )
    imprinted = bytes(_guard(lambda: imprint.message, "message imprint"))
    if not secrets.compare_digest(imprinted, digest):
        raise TimestampError(f"{PREFIX}: message imprint does not match the manifest digest")
    return algorithm, imprinted


def _second_opinion(
    inputs: _Inputs,
    token: _tsa_asn1.TokenParts,
    parsed: TimeStampResponse,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
) -> None:
    """rfc3161-client re-verifies everything, at genTime, on the library's view.

    ``parsed`` is the library's reading of the response with its SETs in DER
    order; when the token does not carry the signer's certificate, the view
    adds it (the library finds the signer only there).
    """
    embedded = list(token.certificates or ())
    leaf_der = leaf.public_bytes(Encoding.DER)
    response = parsed
    if leaf_der not in embedded:
        try:
            view = _tsa_asn1.with_certificates(inputs.response_der, [*embedded, leaf_der])
        except ValueError as exc:
            fail(f"{PREFIX}: cannot prepare rfc3161-client's view ({exc})", exc)
        response = _guard(lambda: decode_timestamp_response(view), "response")
    builder = VerifierBuilder()
    for root in inputs.roots:
        builder = builder.add_root_certificate(root)
    # The path was already validated above, so handing its intermediates to
    # OpenSSL's trust store adds no trust, only lets it find the same path.
    root_ders = {root.public_bytes(Encoding.DER) for root in inputs.roots}
    for intermediate in chain[1:]:
        if intermediate.public_bytes(Encoding.DER) in root_ders:
            continue
        builder = builder.add_intermediate_certificate(intermediate)
    if inputs.nonce is not None:
        builder = builder.nonce(inputs.nonce)
    try:
        builder.build().verify(response, inputs.digest)
    except VerificationError as exc:
        detail = one_line(str(exc))
        if "certificate verify error" in detail:
            fail(f"{PREFIX}: OpenSSL rejected the certificate path ({detail})", exc)
        fail(f"{PREFIX}: signature invalid (rfc3161-client: {detail})", exc)


# --- helpers -------------------------------------------------------------------------

_T = TypeVar("_T")


def _guard(read: Callable[[], _T], what: str) -> _T:
    """Read a field of an rfc3161-client object, naming the field if it is malformed.

    Its Rust side parses nested structures lazily, on first access.
    """
    try:
        return read()
    except (ValueError, TypeError, OverflowError) as exc:
        fail(f"{PREFIX}: malformed {what} ({one_line(str(exc))})", exc)
