"""Detached CMS signatures over a sealed manifest (RFC 5652), checkable with OpenSSL.

A signature is a DER ``ContentInfo``/``SignedData`` whose content (the
manifest bytes) is detached, with one ``SignerInfo`` carrying the signed
attributes contentType (id-data), signingTime and messageDigest, and the
signer's certificate embedded. Anyone can check it with::

    openssl cms -verify -binary -inform DER -in sig.p7s -content manifest.json \\
        -CAfile officer-or-agency-ca.pem -purpose any

Why we build the structure with pyasn1 rather than cryptography's
``PKCS7SignatureBuilder``: that builder (cryptography 50) refuses Ed25519 keys
and always stamps the machine's current time as signingTime, while the
toolkit signs with Ed25519 too and takes every time from its injected clock.
Verification decodes with ``pyasn1_modules.rfc5652`` (cryptography can load
PKCS#7 certificates but does not verify SignedData) and checks the signature
with the certificate's key through ``cryptography``.

Digests follow the RFCs: SHA-256 with ECDSA P-256 (RFC 5753/5754), SHA-512
with Ed25519 (RFC 8419 §3.1: id-sha512 whenever signed attributes are used).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ, useful
from pyasn1_modules import rfc5280, rfc5652

from evidence.model.errors import CertificateError, SignatureError, SignatureFailure
from evidence.model.officer_keys import (
    OfficerPrivateKey,
    common_name_of,
    enforcement_id_of,
    fingerprint,
    key_algorithm_of,
)
from evidence.model.records import SignerInfo

logger = logging.getLogger(__name__)

ID_SHA256 = univ.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
ID_SHA384 = univ.ObjectIdentifier("2.16.840.1.101.3.4.2.2")
ID_SHA512 = univ.ObjectIdentifier("2.16.840.1.101.3.4.2.3")
ID_EC_PUBLIC_KEY = univ.ObjectIdentifier("1.2.840.10045.2.1")
ECDSA_WITH = {
    univ.ObjectIdentifier("1.2.840.10045.4.3.2"): "sha256",
    univ.ObjectIdentifier("1.2.840.10045.4.3.3"): "sha384",
    univ.ObjectIdentifier("1.2.840.10045.4.3.4"): "sha512",
}
ID_ED25519 = univ.ObjectIdentifier("1.3.101.112")

_DIGESTS: dict[univ.ObjectIdentifier, str] = {
    ID_SHA256: "sha256",
    ID_SHA384: "sha384",
    ID_SHA512: "sha512",
}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_MAX_CHAIN = 5


def sign_manifest(
    manifest_bytes: bytes,
    key: OfficerPrivateKey,
    certificate: x509.Certificate,
    *,
    signing_time: datetime,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """A detached DER CMS signature over ``manifest_bytes`` at ``signing_time``.

    ``signing_time`` is truncated to whole seconds (UTCTime has no fractions).
    ``chain``: the intermediate CA certificates of an agency-issued certificate,
    embedded so that ``openssl cms -verify -CAfile agency-root.pem`` needs no
    ``-untrusted`` file.
    """
    return sign_detached(manifest_bytes, key, certificate, signing_time=signing_time, chain=chain)


def sign_detached(
    content: bytes,
    key: OfficerPrivateKey,
    certificate: x509.Certificate,
    *,
    signing_time: datetime,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """A detached DER CMS signature over any ``content`` (e.g. a bundle's signed index).

    ``chain`` (intermediate CA certificates) is embedded after the signer's
    certificate, so a verifier holding only the root can build the path.
    """
    if signing_time.tzinfo is None:
        raise ValueError("naive datetime: signing_time must be timezone-aware")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        digest_name, digest_oid, signature_oid = "sha512", ID_SHA512, ID_ED25519
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        digest_name, digest_oid = "sha256", ID_SHA256
        signature_oid = univ.ObjectIdentifier("1.2.840.10045.4.3.2")
    else:
        raise TypeError(f"cannot sign with a {type(key).__name__}")
    if certificate.public_key() != key.public_key():
        raise ValueError("the certificate is not the certificate of this key")

    cert_asn1, _ = der_decoder.decode(
        certificate.public_bytes(Encoding.DER), asn1Spec=rfc5280.Certificate()
    )
    attributes = [
        _attribute(rfc5652.id_contentType, rfc5652.ContentType(rfc5652.id_data)),
        _attribute(rfc5652.id_signingTime, _time(signing_time)),
        _attribute(
            rfc5652.id_messageDigest,
            rfc5652.MessageDigest(hashlib.new(digest_name, content).digest()),
        ),
    ]
    to_sign = _signed_attributes_der(attributes)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(to_sign)
    else:
        signature = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))

    signer = rfc5652.SignerInfo()
    signer["version"] = 1
    sid = signer["sid"]
    sid["issuerAndSerialNumber"]["issuer"] = cert_asn1["tbsCertificate"]["issuer"]
    sid["issuerAndSerialNumber"]["serialNumber"] = cert_asn1["tbsCertificate"]["serialNumber"]
    signer["digestAlgorithm"]["algorithm"] = digest_oid
    signed_attrs = signer["signedAttrs"]
    signed_attrs.extend(attributes)
    signer["signatureAlgorithm"]["algorithm"] = signature_oid
    signer["signature"] = signature

    signed = rfc5652.SignedData()
    signed["version"] = 1
    digest_algorithm = rfc5652.DigestAlgorithmIdentifier()
    digest_algorithm["algorithm"] = digest_oid
    signed["digestAlgorithms"].append(digest_algorithm)
    signed["encapContentInfo"]["eContentType"] = rfc5652.id_data
    signed["certificates"].extend(_certificate_choice(c) for c in (certificate, *chain))
    signed["signerInfos"].append(signer)

    info = rfc5652.ContentInfo()
    info["contentType"] = rfc5652.id_signedData
    info["content"] = der_encoder.encode(signed)
    return bytes(der_encoder.encode(info))


def verify_manifest_signature(
    manifest_bytes: bytes,
    signature_der: bytes,
    trust_roots: Sequence[x509.Certificate] | bytes | None = None,
) -> SignerInfo:
    """Check a detached CMS signature over ``manifest_bytes``: see
    :func:`verify_detached_signature`."""
    return verify_detached_signature(manifest_bytes, signature_der, trust_roots)


def verify_detached_signature(
    content: bytes,
    signature_der: bytes,
    trust_roots: Sequence[x509.Certificate] | bytes | None = None,
    *,
    content_name: str = "the manifest",
) -> SignerInfo:
    """Check a detached CMS signature over ``content`` and name its signer.

    Raises :class:`SignatureError` naming the first thing that failed. Without
    ``trust_roots`` the signature is checked but the signer is reported as not
    trusted; with them, the signer's certificate must be one of the roots or
    chain to one (through certificates embedded in the signature). Roots may be
    given as certificates or as PEM bytes (one or more certificates).
    """
    if isinstance(trust_roots, bytes | bytearray):
        trust_roots = _load_roots(bytes(trust_roots))
    signed = _decode_signed_data(signature_der)
    signer = _single_signer(signed)
    embedded = _embedded_certificates(signed)
    certificate = _signer_certificate(signer, embedded)
    who = _describe(certificate)

    digest_name = _DIGESTS.get(signer["digestAlgorithm"]["algorithm"])
    if digest_name is None:
        raise _malformed(f"unsupported digest algorithm {signer['digestAlgorithm']['algorithm']}")
    if not signer["signedAttrs"].isValue or len(signer["signedAttrs"]) == 0:
        raise _malformed("the signer has no signed attributes")
    attrs = _attributes(signer["signedAttrs"])
    content_type = _single_value(
        attrs, rfc5652.id_contentType, rfc5652.ContentType(), "contentType"
    )
    if content_type != rfc5652.id_data:
        raise _malformed(f"signed contentType is {content_type}, not id-data")
    expected = hashlib.new(digest_name, content).digest()
    digest_value = _single_value(
        attrs, rfc5652.id_messageDigest, rfc5652.MessageDigest(), "messageDigest"
    )
    assert isinstance(digest_value, univ.OctetString)
    claimed = bytes(digest_value)
    signing_time = _signing_time(attrs)
    if claimed != expected:
        raise SignatureError(
            f"digest mismatch: the signature by {who} covers {digest_name} {claimed.hex()}, "
            f"but {content_name}'s {digest_name} is {expected.hex()}",
            failure=SignatureFailure.DIGEST,
        )

    signed_bytes = _signed_attributes_der(list(signer["signedAttrs"]))
    _check_signature(
        certificate,
        signer["signatureAlgorithm"]["algorithm"],
        digest_name,
        bytes(signer["signature"]),
        signed_bytes,
        who,
    )

    if not (certificate.not_valid_before_utc <= signing_time <= certificate.not_valid_after_utc):
        raise SignatureError(
            f"certificate of {who} was not valid at the signing time {signing_time.isoformat()} "
            f"(valid from {certificate.not_valid_before_utc.isoformat()} "
            f"to {certificate.not_valid_after_utc.isoformat()})",
            failure=SignatureFailure.CERTIFICATE,
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            raise SignatureError(
                f"certificate of {who} does not allow signing "
                "(keyUsage lacks digitalSignature and nonRepudiation)",
                failure=SignatureFailure.CERTIFICATE,
            )
    except x509.ExtensionNotFound:
        pass

    trusted = False
    if trust_roots is not None:
        _check_trust(certificate, embedded, trust_roots, who)
        trusted = True
    return SignerInfo(
        subject=certificate.subject.rfc4514_string(),
        common_name=common_name_of(certificate),
        enforcement_id=enforcement_id_of(certificate),
        issuer=certificate.issuer.rfc4514_string(),
        certificate_sha256=fingerprint(certificate),
        signing_time=signing_time,
        trusted=trusted,
        key_algorithm=key_algorithm_of(certificate.public_key()),
        digest_algorithm=digest_name,
    )


def signer_certificate(signature_der: bytes) -> x509.Certificate:
    """The signer's certificate embedded in a signature (not verified)."""
    signed = _decode_signed_data(signature_der)
    return _signer_certificate(_single_signer(signed), _embedded_certificates(signed))


# -- building ---------------------------------------------------------------


def _attribute(oid: univ.ObjectIdentifier, value: object) -> rfc5652.Attribute:
    attribute = rfc5652.Attribute()
    attribute["attrType"] = oid
    attribute["attrValues"].append(univ.Any(der_encoder.encode(value)))
    return attribute


def _time(moment: datetime) -> rfc5652.Time:
    utc = moment.astimezone(UTC)
    choice = rfc5652.Time()
    # RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime outside.
    if 1950 <= utc.year <= 2049:
        choice["utcTime"] = useful.UTCTime(utc.strftime("%y%m%d%H%M%SZ"))
    else:
        choice["generalTime"] = useful.GeneralizedTime(utc.strftime("%Y%m%d%H%M%SZ"))
    return choice


def _certificate_choice(certificate: x509.Certificate) -> rfc5652.CertificateChoices:
    choice = rfc5652.CertificateChoices()
    choice["certificate"] = der_decoder.decode(
        certificate.public_bytes(Encoding.DER), asn1Spec=rfc5280.Certificate()
    )[0]
    return choice


def _signed_attributes_der(attributes: list[rfc5652.Attribute]) -> bytes:
    # RFC 5652 §5.4: the signature covers the attributes as a DER SET OF
    # (universal tag 0x31), not with the [0] IMPLICIT tag they travel under.
    plain = univ.SetOf(componentType=rfc5652.Attribute())
    plain.extend(attributes)
    return bytes(der_encoder.encode(plain))


# -- verifying --------------------------------------------------------------


def _malformed(detail: str) -> SignatureError:
    return SignatureError(f"malformed CMS signature: {detail}", failure=SignatureFailure.MALFORMED)


def _decode_signed_data(signature_der: bytes) -> rfc5652.SignedData:
    try:
        info, rest = der_decoder.decode(signature_der, asn1Spec=rfc5652.ContentInfo())
        if rest:
            raise _malformed(f"{len(rest)} trailing bytes after the ContentInfo")
        if info["contentType"] != rfc5652.id_signedData:
            raise _malformed(f"content type {info['contentType']} is not SignedData")
        signed, rest = der_decoder.decode(bytes(info["content"]), asn1Spec=rfc5652.SignedData())
        if rest:
            raise _malformed("trailing bytes after the SignedData")
    except PyAsn1Error as exc:
        raise _malformed(f"not DER CMS ({exc.__class__.__name__})") from exc
    encap = signed["encapContentInfo"]
    if encap["eContentType"] != rfc5652.id_data:
        raise _malformed(f"encapsulated content type {encap['eContentType']} is not id-data")
    if encap["eContent"].isValue:
        raise _malformed("the signature is not detached (it embeds content)")
    return signed


def _single_signer(signed: rfc5652.SignedData) -> rfc5652.SignerInfo:
    count = len(signed["signerInfos"])
    if count != 1:
        raise _malformed(f"expected exactly one signer, found {count}")
    signer: rfc5652.SignerInfo = signed["signerInfos"][0]
    return signer


def _embedded_certificates(signed: rfc5652.SignedData) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    if not signed["certificates"].isValue:
        return found
    for choice in signed["certificates"]:
        if choice.getName() != "certificate":
            continue
        try:
            found.append(x509.load_der_x509_certificate(der_encoder.encode(choice["certificate"])))
        except (ValueError, PyAsn1Error) as exc:
            raise _malformed(f"an embedded certificate is unreadable ({exc})") from exc
    return found


def _signer_certificate(
    signer: rfc5652.SignerInfo, embedded: list[x509.Certificate]
) -> x509.Certificate:
    sid = signer["sid"]
    kind = sid.getName()
    for certificate in embedded:
        if kind == "issuerAndSerialNumber":
            ias = sid["issuerAndSerialNumber"]
            issuer = bytes(der_encoder.encode(ias["issuer"]))
            if (
                int(ias["serialNumber"]) == certificate.serial_number
                and issuer == certificate.issuer.public_bytes()
            ):
                return certificate
        elif kind == "subjectKeyIdentifier":
            try:
                ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == bytes(sid["subjectKeyIdentifier"]):
                return certificate
    raise _malformed("the signer's certificate is not embedded in the signature")


def _attributes(signed_attrs: univ.SetOf) -> dict[univ.ObjectIdentifier, list[bytes]]:
    found: dict[univ.ObjectIdentifier, list[bytes]] = {}
    for attribute in signed_attrs:
        oid = attribute["attrType"]
        if oid in found:
            raise _malformed(f"signed attribute {oid} appears twice")
        found[oid] = [bytes(value) for value in attribute["attrValues"]]
    return found


def _single_value(
    attrs: dict[univ.ObjectIdentifier, list[bytes]],
    oid: univ.ObjectIdentifier,
    spec: object,
    name: str,
) -> object:
    values = attrs.get(oid)
    if not values:
        raise _malformed(f"no {name} signed attribute")
    if len(values) != 1:
        raise _malformed(f"the {name} attribute has {len(values)} values, not one")
    try:
        value, rest = der_decoder.decode(values[0], asn1Spec=spec)
    except PyAsn1Error as exc:
        raise _malformed(f"unreadable {name} attribute") from exc
    if rest:
        raise _malformed(f"trailing bytes in the {name} attribute")
    return value


def _signing_time(attrs: dict[univ.ObjectIdentifier, list[bytes]]) -> datetime:
    value = _single_value(attrs, rfc5652.id_signingTime, rfc5652.Time(), "signingTime")
    assert isinstance(value, rfc5652.Time)
    try:
        moment: datetime = value.getComponent().asDateTime
    except (PyAsn1Error, ValueError) as exc:
        raise _malformed("unreadable signingTime") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_signature(
    certificate: x509.Certificate,
    algorithm: univ.ObjectIdentifier,
    digest_name: str,
    signature: bytes,
    signed_bytes: bytes,
    who: str,
) -> None:
    public = certificate.public_key()
    try:
        if algorithm == ID_ED25519:
            if not isinstance(public, ed25519.Ed25519PublicKey):
                raise _malformed(
                    f"Ed25519 signature but {who} has a {key_algorithm_of(public)} key"
                )
            public.verify(signature, signed_bytes)
        elif algorithm in ECDSA_WITH or algorithm == ID_EC_PUBLIC_KEY:
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise _malformed(f"ECDSA signature but {who} has a {key_algorithm_of(public)} key")
            # Some signers put id-ecPublicKey here; the hash is then the digest algorithm's.
            hash_name = ECDSA_WITH.get(algorithm, digest_name)
            public.verify(signature, signed_bytes, ec.ECDSA(_HASHES[hash_name]))
        else:
            raise _malformed(f"unsupported signature algorithm {algorithm}")
    except InvalidSignature:
        raise SignatureError(
            f"bad signature: the signature does not verify with the certificate of {who}",
            failure=SignatureFailure.SIGNATURE,
        ) from None
    except UnsupportedAlgorithm as exc:
        raise _malformed(f"unsupported key in the certificate of {who}") from exc


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_trust(
    certificate: x509.Certificate,
    embedded: list[x509.Certificate],
    trust_roots: Sequence[x509.Certificate],
    who: str,
) -> None:
    """The signer is a root itself, or chains to one through embedded CA certificates.

    A self-signed officer certificate is trusted only when it is itself among
    the roots: an issuer must be a CA (basicConstraints cA=TRUE), so one
    officer's certificate in the roots never vouches for another's.
    """
    roots = list(trust_roots)
    current = certificate
    for _ in range(_MAX_CHAIN):
        if current in roots:
            return
        issuer = next((r for r in roots if _is_ca(r) and _issued_by(current, r)), None)
        if issuer is not None:
            return
        intermediate = next(
            (c for c in embedded if c != current and _is_ca(c) and _issued_by(current, c)),
            None,
        )
        if intermediate is None:
            break
        current = intermediate
    raise SignatureError(
        f"untrusted signer {who}: the certificate does not chain to any of the "
        f"{len(roots)} trust root(s) given",
        failure=SignatureFailure.UNTRUSTED,
    )


def _load_roots(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        detail = str(exc).split(". ")[0]
        raise CertificateError(
            f"the signer trust roots are not PEM certificates ({detail})"
        ) from exc


def _describe(certificate: x509.Certificate) -> str:
    name = common_name_of(certificate) or certificate.subject.rfc4514_string()
    enforcement_id = enforcement_id_of(certificate)
    return f"{name} (enforcement ID {enforcement_id})" if enforcement_id else name
