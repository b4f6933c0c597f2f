"""The CMS signature of a time-stamp token, checked over the bytes that were signed.

RFC 5652 §5.4: a ``SignerInfo`` with signed attributes signs the DER
``SET OF Attribute``; those attributes bind the content through
``messageDigest`` and its type through ``contentType``. Both links and the
signature are checked here with :mod:`cryptography`, on the attribute bytes
exactly as the token carries them (see :func:`anchoring._tsa_asn1.signer_info`),
so no re-encoding stands between a signature and what it covers.

Only algorithms a TSA of today uses are accepted: RSA PKCS #1 v1.5 and ECDSA
over SHA-224 or longer digests. RSASSA-PSS is refused by name: OpenSSL's
PKCS #7 code, under both ``openssl ts -verify`` (the expert's own check) and
rfc3161-client (our second opinion), cannot verify it, so a pass would be a
verdict nobody could reproduce. SHA-1 is refused by name:
chosen-prefix collisions are practical, and a SHA-1 signature over evidence
proves little. SM2 is not available in :mod:`cryptography` and is reported as
unsupported rather than guessed at.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import Certificate

from anchoring import _tsa_asn1
from anchoring._tsa_common import PREFIX
from evidence.model.errors import TimestampError

_DIGESTS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "2.16.840.1.101.3.4.2.4": hashes.SHA224,
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_SHA1_NAMED: Final = frozenset(
    {
        "1.3.14.3.2.26",  # sha1
        "1.2.840.113549.1.1.5",  # sha1WithRSAEncryption
        "1.2.840.10045.4.1",  # ecdsa-with-SHA1
    }
)
_RSA_ENCRYPTION: Final = "1.2.840.113549.1.1.1"
_RSA_PSS: Final = "1.2.840.113549.1.1.10"
_EC_PUBLIC_KEY: Final = "1.2.840.10045.2.1"
# Signature algorithms naming their digest; rsaEncryption and id-ecPublicKey
# (both seen in real tokens) take the SignerInfo's digestAlgorithm instead.
_RSA_PKCS1: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "1.2.840.113549.1.1.14": hashes.SHA224,
    "1.2.840.113549.1.1.11": hashes.SHA256,
    "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
}
_ECDSA: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "1.2.840.10045.4.3.1": hashes.SHA224,
    "1.2.840.10045.4.3.2": hashes.SHA256,
    "1.2.840.10045.4.3.3": hashes.SHA384,
    "1.2.840.10045.4.3.4": hashes.SHA512,
}
_CONTENT_TYPE: Final = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST: Final = "1.2.840.113549.1.9.4"
_TST_INFO: Final = "1.2.840.113549.1.9.16.1.4"


def check_token_signature(token: _tsa_asn1.TokenParts, certificate: Certificate) -> None:
    """Raise :class:`TimestampError` unless ``certificate``'s key signed ``token``'s TSTInfo.

    Checks the ``contentType`` and ``messageDigest`` signed attributes against
    the TSTInfo exactly as received, then the signature over the signed
    attributes.
    """
    parts = token.signer
    content_type = _single_value(parts, _CONTENT_TYPE, "contentType")
    message_digest = _single_value(parts, _MESSAGE_DIGEST, "messageDigest")
    try:
        signed_type = _tsa_asn1.object_identifier(content_type)
        expected = _tsa_asn1.octet_string(message_digest)
    except ValueError as exc:
        raise TimestampError(f"{PREFIX}: malformed signed attribute ({exc})") from exc
    if signed_type != _TST_INFO:
        raise TimestampError(
            f"{PREFIX}: signature invalid (signed contentType is not id-ct-TSTInfo)"
        )
    digest = _digest(parts.digest_algorithm.oid, "digestAlgorithm")
    if not hmac.compare_digest(hashlib.new(digest.name, token.tst_info).digest(), expected):
        raise TimestampError(
            f"{PREFIX}: signature invalid (the signed messageDigest is not the "
            "digest of the TSTInfo: the time-stamped content was changed)"
        )
    try:
        _verify(parts, certificate)
    except UnsupportedAlgorithm as exc:
        raise TimestampError(
            f"{PREFIX}: the TSA certificate's key type is not supported ({exc})"
        ) from exc
    except InvalidSignature as exc:
        raise TimestampError(
            f"{PREFIX}: signature invalid (the signed attributes do not verify with "
            "the TSA certificate's key)"
        ) from exc


def _single_value(parts: _tsa_asn1.SignerInfoParts, oid: str, name: str) -> bytes:
    found = [attribute for attribute in parts.attributes if attribute.oid == oid]
    if len(found) != 1 or len(found[0].values_der) != 1:
        raise TimestampError(
            f"{PREFIX}: signature invalid (expected one signed {name} attribute with one value)"
        )
    return found[0].values_der[0]


def _digest(oid: str, what: str) -> hashes.HashAlgorithm:
    if oid in _SHA1_NAMED:
        raise TimestampError(
            f"{PREFIX}: {what} is SHA-1, which is not accepted for evidence (practical collisions)"
        )
    algorithm = _DIGESTS.get(oid)
    if algorithm is None:
        raise TimestampError(f"{PREFIX}: unsupported {what} {oid}")
    return algorithm()


def _verify(parts: _tsa_asn1.SignerInfoParts, certificate: Certificate) -> None:
    """Verify the signature; :class:`InvalidSignature` if it does not hold."""
    oid = parts.signature_algorithm.oid
    signed = parts.signed_attributes_der
    key = certificate.public_key()
    if oid in _SHA1_NAMED:
        _digest(oid, "signature algorithm")
    if oid == _RSA_ENCRYPTION or oid in _RSA_PKCS1:
        named = _RSA_PKCS1.get(oid)
        digest = named() if named else _digest(parts.digest_algorithm.oid, "digestAlgorithm")
        _rsa_key(key, oid).verify(parts.signature, signed, padding.PKCS1v15(), digest)
    elif oid == _RSA_PSS:
        raise TimestampError(
            f"{PREFIX}: RSASSA-PSS signature: not supported, as `openssl ts -verify` "
            "(OpenSSL's PKCS #7 verification) cannot check it either"
        )
    elif oid == _EC_PUBLIC_KEY or oid in _ECDSA:
        named = _ECDSA.get(oid)
        digest = named() if named else _digest(parts.digest_algorithm.oid, "digestAlgorithm")
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise TimestampError(f"{PREFIX}: signature algorithm {oid} needs an EC key")
        key.verify(parts.signature, signed, ec.ECDSA(digest))
    else:
        raise TimestampError(f"{PREFIX}: unsupported signature algorithm {oid}")


def _rsa_key(key: object, oid: str) -> rsa.RSAPublicKey:
    if not isinstance(key, rsa.RSAPublicKey):
        raise TimestampError(f"{PREFIX}: signature algorithm {oid} needs an RSA key")
    return key
