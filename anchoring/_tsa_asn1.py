"""RFC 3161 structures read with pyasn1, keeping the bytes exactly as received.

rfc3161-client parses and verifies, but hands back re-encoded pieces and a
``genTime`` truncated to whole seconds. Evidence records keep the exact bytes
that were signed and the TSA's fractional seconds, so these helpers decode the
response with :mod:`pyasn1` / :mod:`pyasn1_modules` schemas and never hand-walk
DER.

Exactness: the parts whose bytes are handed back are decoded as ``ANY``
(pyasn1 keeps an untagged ``ANY`` as the complete TLV it was given and encodes
it back verbatim), and every enclosing structure is re-encoded with the DER
encoder and compared with its input; a difference (non-DER input, or a pyasn1
encoder quirk) raises :class:`ValueError` instead of returning bytes that were
not received. Structures pyasn1 does not need to understand here (certificates,
CRLs, algorithm identifiers, attributes) are kept as ``ANY`` so that re-encoding
cannot alter them; lists whose order matters for a signature (the signed
attributes) or that real TSAs write unsorted (the certificates) are re-encoded
in the order received. All pyasn1 errors surface as :class:`ValueError`.

The one place that writes a *different* structure is :func:`with_certificates`,
the copy rfc3161-client reads; it changes only the unsigned certificates SET
and checks that every other part of the SignedData is unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype, tag, univ
from pyasn1_modules import rfc2634, rfc3161, rfc5035, rfc5280, rfc5652

Asn1 = Any
"""A pyasn1 value or schema object (pyasn1 ships no type information)."""

_MAX_DETAIL: Final = 160


@functools.cache
def _time_stamp_resp() -> Asn1:
    """``TimeStampResp`` with the token kept as received (an untagged ``ANY``)."""
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("status", rfc3161.PKIStatusInfo()),
            namedtype.OptionalNamedType("timeStampToken", univ.Any()),
        )
    )


@functools.cache
def _member_list(tag_number: int, *, der_order: bool) -> Asn1:
    """``[n] IMPLICIT SET OF`` members kept as received.

    With ``der_order`` it is a ``SET OF``, which the DER encoder writes in DER
    (sorted) order; otherwise a ``SEQUENCE OF`` under the same tag, which
    re-encodes in the order received.
    """
    implicit = tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, tag_number)
    container = univ.SetOf if der_order else univ.SequenceOf
    return container(componentType=univ.Any()).subtype(implicitTag=implicit)


@functools.cache
def _signed_data(*, sort_sets: bool = False) -> Asn1:
    """RFC 5652 ``SignedData``, its parts kept as ``ANY``.

    ``certificates`` ([0], a SET OF ``CertificateChoices``) and ``crls`` ([1])
    keep their members' bytes; with ``sort_sets`` they are re-encoded in DER
    order, otherwise in the order received.
    """
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("version", rfc5652.CMSVersion()),
            namedtype.NamedType("digestAlgorithms", univ.SetOf(componentType=univ.Any())),
            namedtype.NamedType("encapContentInfo", univ.Any()),
            namedtype.OptionalNamedType("certificates", _member_list(0, der_order=sort_sets)),
            namedtype.OptionalNamedType("crls", _member_list(1, der_order=sort_sets)),
            namedtype.NamedType("signerInfos", univ.SetOf(componentType=univ.Any())),
        )
    )


@functools.cache
def _schema(factory: Callable[[], Asn1]) -> Asn1:
    """One schema object per type: building pyasn1 schemas costs more than decoding."""
    return factory()


def _detail(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _decode(data: bytes, spec: Asn1, what: str) -> Asn1:
    try:
        value, rest = der_decoder.decode(data, asn1Spec=spec)
    except PyAsn1Error as exc:
        raise ValueError(f"{what}: {_detail(exc)}") from exc
    if rest:
        raise ValueError(f"trailing bytes after {what}")
    return value


def _encode(value: Asn1, what: str) -> bytes:
    try:
        # pyasn1's DER encoder drops an OPTIONAL SET OF that is present but
        # empty; real tokens carry such an empty `certificates` field, and
        # re-encoding must give back what was received.
        return bytes(der_encoder.encode(value, omitEmptyOptionals=False))
    except PyAsn1Error as exc:
        raise ValueError(f"{what}: cannot DER-encode ({_detail(exc)})") from exc


def _decode_exact(data: bytes, spec: Asn1, what: str) -> Asn1:
    """Decode ``data`` and insist that DER re-encoding gives back the same bytes."""
    value = _decode(data, spec, what)
    if _encode(value, what) != data:
        raise ValueError(f"{what} is not DER (re-encoding it does not reproduce the bytes)")
    return value


def _present(value: Asn1) -> bool:
    return bool(value.isValue)


def _signed_data_der(token_der: bytes) -> bytes:
    """The ``SignedData`` DER inside a ``TimeStampToken`` (a CMS ``ContentInfo``)."""
    content_info = _decode_exact(token_der, _schema(rfc5652.ContentInfo), "TimeStampToken")
    if content_info["contentType"] != rfc5652.id_signedData:
        raise ValueError(
            f"TimeStampToken: content type {content_info['contentType']} is not signedData"
        )
    return bytes(content_info["content"])


def split_response(response_der: bytes) -> tuple[bytes, bytes | None]:
    """``(PKIStatusInfo DER, TimeStampToken DER or None)`` of a ``TimeStampResp``.

    Both are the bytes exactly as received.
    """
    response = _decode_exact(response_der, _time_stamp_resp(), "TimeStampResp")
    status_der = _encode(response["status"], "PKIStatusInfo")
    token = response["timeStampToken"]
    if not _present(token):
        return status_der, None
    token_der = bytes(token)
    _decode_exact(token_der, _schema(rfc5652.ContentInfo), "TimeStampToken")
    return status_der, token_der


def tst_info_der(token_der: bytes) -> bytes:
    """The signed ``TSTInfo`` bytes (the eContent) inside a ``TimeStampToken``.

    The content octets of the ``eContent`` OCTET STRING, exactly as signed.
    """
    signed_data = _decode_exact(_signed_data_der(token_der), _signed_data(), "SignedData")
    return _tst_info(signed_data)


def _tst_info(signed_data: Asn1) -> bytes:
    encap_der = bytes(signed_data["encapContentInfo"])
    encap = _decode_exact(
        encap_der, _schema(rfc5652.EncapsulatedContentInfo), "EncapsulatedContentInfo"
    )
    if encap["eContentType"] != rfc3161.id_ct_TSTInfo:
        raise ValueError(f"eContent type {encap['eContentType']} is not id-ct-TSTInfo")
    if not _present(encap["eContent"]):
        raise ValueError("eContent: missing")
    # encapContentInfo re-encoded byte for byte, so the OCTET STRING was primitive
    # and its value is exactly its content octets: the signed TSTInfo.
    return bytes(encap["eContent"])


_GENERALIZED_TIME = re.compile(r"\d{14}(?:\.(?P<fraction>\d{1,9}))?Z")


def gen_time(tst_info: bytes) -> datetime:
    """``genTime`` of a DER ``TSTInfo`` as an aware UTC datetime, microseconds kept.

    Sub-microsecond digits cannot be represented and are truncated, never
    rounded up past what the TSA said. The ``TSTInfo`` is only decoded, not
    re-encoded: pyasn1's DER encoder refuses ``GeneralizedTime`` with more
    than three fractional digits, which DER allows.
    """
    info = _decode(tst_info, _schema(rfc3161.TSTInfo), "TSTInfo")
    value = info["genTime"]
    text = str(value)
    match = _GENERALIZED_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"genTime {text!r} is not a UTC GeneralizedTime")
    try:
        moment: datetime = value.asDateTime
    except PyAsn1Error as exc:
        raise ValueError(f"genTime {text!r}: {_detail(exc)}") from exc
    if moment.utcoffset() is None or moment.utcoffset():
        raise ValueError(f"genTime {text!r} did not read as UTC")
    # Guard against pyasn1 versions that scaled the fraction as milliseconds.
    fraction = match["fraction"] or ""
    if moment.microsecond != int(fraction[:6].ljust(6, "0")):
        raise ValueError(f"genTime {text!r}: fractional seconds read inconsistently")
    return moment.astimezone(UTC)


def wrap_token(token_der: bytes) -> bytes:
    """A ``TimeStampResp`` with status *granted* around a bare ``TimeStampToken``.

    The token is embedded byte for byte.
    """
    response = _time_stamp_resp()
    response["status"]["status"] = rfc3161.PKIStatus("granted")
    response["timeStampToken"] = token_der
    return _encode(response, "TimeStampResp")


def sort_certificate_sets(response_der: bytes) -> bytes:
    """The response with its SignedData ``certificates``/``crls`` SETs in DER order.

    Some TSAs (and ``openssl ts`` given a ``certs`` file) write these SETs in
    the order they were listed, which strict DER parsers such as rfc3161-client
    reject. Neither SET is covered by the signature, and only the order of their
    members changes (each member keeps its bytes, every length stays the same),
    so this changes no signed byte. Anything else that is not DER raises
    :class:`ValueError`.
    """
    _status, token_der = split_response(response_der)
    if token_der is None:
        return response_der
    signed_der = _signed_data_der(token_der)
    # Exactly as received apart from the SET order, so rewriting only reorders.
    _decode_exact(signed_der, _signed_data(), "SignedData")
    sorted_signed = _encode(
        _decode(signed_der, _signed_data(sort_sets=True), "SignedData"), "SignedData"
    )
    if sorted_signed == signed_der:
        return response_der

    content_info = _decode(token_der, _schema(rfc5652.ContentInfo), "TimeStampToken")
    content_info["content"] = sorted_signed
    response = _decode(response_der, _time_stamp_resp(), "TimeStampResp")
    response["timeStampToken"] = _encode(content_info, "TimeStampToken")
    result = _encode(response, "TimeStampResp")
    if len(result) != len(response_der):
        raise ValueError("TimeStampResp: sorting the certificate SETs changed its length")
    return result


def with_certificates(response_der: bytes, certificates_der: Sequence[bytes]) -> bytes:
    """The response with its SignedData ``certificates`` set to ``certificates_der``.

    The SET is written in DER order (left out when ``certificates_der`` is
    empty); every other part of the SignedData is checked to be the received
    bytes, so the signed content, the signed attributes and the signature are
    those of the original. This is a *view* for verifiers that need the
    signer's certificate inside the token; the ``certificates`` field is not
    covered by the signature (RFC 5652 §5.1), so the view proves nothing the
    original does not.
    """
    _status, token_der = split_response(response_der)
    if token_der is None:
        raise ValueError("TimeStampResp: no token to rewrite")
    signed_der = _signed_data_der(token_der)
    original = _decode_exact(signed_der, _signed_data(), "SignedData")
    rewritten = _decode(signed_der, _signed_data(sort_sets=True), "SignedData")
    replacement = _member_list(0, der_order=True).clone()
    for position, certificate in enumerate(certificates_der):
        replacement.setComponentByPosition(position, univ.Any(certificate))
    if certificates_der:
        rewritten.setComponentByName("certificates", replacement)
    else:
        rewritten.setComponentByName("certificates", univ.noValue)
    new_signed = _encode(rewritten, "SignedData")
    check = _decode_exact(new_signed, _signed_data(sort_sets=True), "SignedData")
    for part in ("version", "digestAlgorithms", "encapContentInfo", "signerInfos"):
        if _encode(check[part], part) != _encode(original[part], part):
            raise ValueError(f"SignedData: rewriting the certificates changed its {part}")

    content_info = _decode(token_der, _schema(rfc5652.ContentInfo), "TimeStampToken")
    content_info["content"] = new_signed
    response = _decode(response_der, _time_stamp_resp(), "TimeStampResp")
    response["timeStampToken"] = _encode(content_info, "TimeStampToken")
    return _encode(response, "TimeStampResp")


# --- the SignerInfo, its signed attributes as signed -------------------------------


@functools.cache
def _signer_info() -> Asn1:
    """RFC 5652 ``SignerInfo`` whose attribute lists re-encode in the order received."""
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("version", rfc5652.CMSVersion()),
            namedtype.NamedType("sid", univ.Any()),
            namedtype.NamedType("digestAlgorithm", univ.Any()),
            namedtype.OptionalNamedType("signedAttrs", _member_list(0, der_order=False)),
            namedtype.NamedType("signatureAlgorithm", univ.Any()),
            namedtype.NamedType("signature", rfc5652.SignatureValue()),
            namedtype.OptionalNamedType("unsignedAttrs", _member_list(1, der_order=False)),
        )
    )


@dataclass(frozen=True, slots=True)
class Attribute:
    """One CMS attribute: its type and each value's DER as received."""

    oid: str
    values_der: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Algorithm:
    """An ``AlgorithmIdentifier``: the OID and the parameters' DER (``None`` if absent)."""

    oid: str
    parameters_der: bytes | None


@dataclass(frozen=True, slots=True)
class SignerInfoParts:
    """The one ``SignerInfo`` of a token, as needed to check its signature."""

    digest_algorithm: Algorithm
    signed_attributes_der: bytes
    """What the signature covers (RFC 5652 §5.4): the received ``[0] IMPLICIT``
    attributes with the ``SET OF`` tag in place of ``[0]``, every other byte as
    received."""
    attributes: tuple[Attribute, ...]
    signature_algorithm: Algorithm
    signature: bytes


@dataclass(frozen=True, slots=True)
class TokenParts:
    """What verifying a ``TimeStampToken`` needs from it, each part as received."""

    tst_info: bytes
    """The signed ``TSTInfo`` (the eContent octets)."""
    certificates: tuple[bytes, ...] | None
    """The X.509 certificates the SignedData carries: ``None`` when the
    ``certificates`` field is absent, empty when it is an empty SET (real
    responses have both). Other ``CertificateChoices`` (attribute certificates
    and the like, all tagged) cannot sign a token and are left out."""
    signer: SignerInfoParts


def read_token(token_der: bytes) -> TokenParts:
    """Decode a ``TimeStampToken`` once; any malformation raises :class:`ValueError`."""
    signed_data = _decode_exact(_signed_data_der(token_der), _signed_data(), "SignedData")
    try:
        signer = _signer_info_parts(signed_data)
    except PyAsn1Error as exc:
        raise ValueError(f"SignerInfo: {_detail(exc)}") from exc
    certificates = signed_data["certificates"]
    members = [bytes(member) for member in certificates] if _present(certificates) else None
    return TokenParts(
        tst_info=_tst_info(signed_data),
        certificates=(None if members is None else tuple(m for m in members if m[:1] == b"\x30")),
        signer=signer,
    )


def _signer_info_parts(signed_data: Asn1) -> SignerInfoParts:
    signer_infos = signed_data["signerInfos"]
    if len(signer_infos) != 1:
        raise ValueError(f"SignedData: expected one SignerInfo, found {len(signer_infos)}")
    signer = _decode_exact(bytes(signer_infos[0]), _signer_info(), "SignerInfo")
    if not _present(signer["signedAttrs"]):
        raise ValueError("SignerInfo: no signed attributes")
    # Exact re-encoding of the whole SignerInfo was checked above, so this is
    # the received [0] element; 0xA0 ([0] constructed) and 0x31 (SET) are one
    # byte each and the length octets stay as they were.
    received = _encode(signer["signedAttrs"], "signed attributes")
    if received[:1] != b"\xa0":
        raise ValueError("SignerInfo: signed attributes are not tagged [0]")
    attributes = []
    for member in signer["signedAttrs"]:
        attribute = _decode(bytes(member), _schema(rfc5652.Attribute), "signed attribute")
        values = tuple(_encode(value, "attribute value") for value in attribute["attrValues"])
        attributes.append(Attribute(oid=str(attribute["attrType"]), values_der=values))
    return SignerInfoParts(
        digest_algorithm=_algorithm(bytes(signer["digestAlgorithm"]), "digestAlgorithm"),
        signed_attributes_der=b"\x31" + received[1:],
        attributes=tuple(attributes),
        signature_algorithm=_algorithm(bytes(signer["signatureAlgorithm"]), "signatureAlgorithm"),
        signature=bytes(signer["signature"]),
    )


def _algorithm(der: bytes, what: str) -> Algorithm:
    value = _decode(der, _schema(rfc5280.AlgorithmIdentifier), what)
    parameters = value["parameters"]
    return Algorithm(
        oid=str(value["algorithm"]),
        parameters_der=_encode(parameters, what) if _present(parameters) else None,
    )


def object_identifier(value_der: bytes) -> str:
    """A DER ``OBJECT IDENTIFIER`` value (e.g. of a ``contentType`` attribute)."""
    return str(_decode(value_der, _schema(univ.ObjectIdentifier), "OBJECT IDENTIFIER"))


def octet_string(value_der: bytes) -> bytes:
    """A DER ``OCTET STRING`` value (e.g. of a ``messageDigest`` attribute)."""
    return bytes(_decode_exact(value_der, _schema(univ.OctetString), "OCTET STRING"))


# --- signing-certificate attribute (ESSCertID v1 / v2) -------------------------------

_SHA1_OID: Final = "1.3.14.3.2.26"
_SHA256_OID: Final = "2.16.840.1.101.3.4.2.1"


@dataclass(frozen=True, slots=True)
class SigningCertificateId:
    """The first ``ESSCertID``/``ESSCertIDv2`` of a token's signing-certificate attribute.

    RFC 2634 / RFC 5035: the first entry identifies the certificate that
    signed the token; later entries (if any) name other certificates of the path.
    """

    version: int
    """1 for ``SigningCertificate`` (SHA-1), 2 for ``SigningCertificateV2``."""
    hash_oid: str
    cert_hash: bytes
    serial: int | None
    """``issuerSerial.serialNumber`` when present."""
    issuer_names_der: tuple[bytes, ...]
    """DER of each ``directoryName`` in ``issuerSerial.issuer`` (may be empty)."""


def signing_certificate_ids(signer: SignerInfoParts) -> list[SigningCertificateId]:
    """The signing-certificate attributes among the token's signed attributes.

    Returns one entry per attribute found (a token may carry both versions);
    an empty list means the token has none, which RFC 3161 forbids.
    """
    try:
        return _signing_certificate_ids(signer)
    except PyAsn1Error as exc:
        raise ValueError(f"signing-certificate attribute: {_detail(exc)}") from exc


def _signing_certificate_ids(signer: SignerInfoParts) -> list[SigningCertificateId]:
    found: list[SigningCertificateId] = []
    for attribute in signer.attributes:
        if attribute.oid not in (
            str(rfc2634.id_aa_signingCertificate),
            str(rfc5035.id_aa_signingCertificateV2),
        ):
            continue
        if len(attribute.values_der) != 1:
            raise ValueError(
                f"signing-certificate attribute has {len(attribute.values_der)} values, not 1"
            )
        raw = attribute.values_der[0]
        if attribute.oid == str(rfc2634.id_aa_signingCertificate):
            value = _decode(raw, _schema(rfc2634.SigningCertificate), "SigningCertificate")
            version, hash_oid = 1, _SHA1_OID
        else:
            value = _decode(raw, _schema(rfc5035.SigningCertificateV2), "SigningCertificateV2")
            version, hash_oid = 2, _SHA256_OID
        certs = value["certs"]
        if len(certs) == 0:
            raise ValueError("signing-certificate attribute lists no certificate")
        first = certs[0]
        if version == 2 and _present(first["hashAlgorithm"]):
            hash_oid = str(first["hashAlgorithm"]["algorithm"])
        serial: int | None = None
        issuers: list[bytes] = []
        issuer_serial = first["issuerSerial"]
        if _present(issuer_serial):
            serial = int(issuer_serial["serialNumber"])
            for general_name in issuer_serial["issuer"]:
                if general_name.getName() == "directoryName":
                    name = general_name["directoryName"]
                    # The [4] EXPLICIT tag is the GeneralName's; the Name inside is
                    # encoded as an untagged Name, i.e. what a certificate's issuer holds.
                    plain = rfc5280.Name()
                    plain.setComponentByName("rdnSequence", name["rdnSequence"])
                    issuers.append(_encode(plain, "issuer name"))
        found.append(
            SigningCertificateId(
                version=version,
                hash_oid=hash_oid,
                cert_hash=bytes(first["certHash"]),
                serial=serial,
                issuer_names_der=tuple(issuers),
            )
        )
    return found
