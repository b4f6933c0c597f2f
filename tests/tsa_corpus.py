"""A corpus of RFC 3161 responses shaped like real TSAs' ones, built at test time.

Nothing binary is committed: every run makes a throwaway PKI with
:mod:`cryptography` (a root, optionally an intermediate, a TSA certificate
with a chosen validity window, RSA or EC), has the stock ``openssl ts -query``
and ``openssl ts -reply`` make the requests and the replies, and derives
ASN.1 variants from those replies with :mod:`pyasn1` (never by hand):

* the ``certificates`` field absent, an empty SET, in non-DER order, or with
  unrelated certificates added (none of these is signed);
* re-signed tokens: a genTime in the past (the TSA certificate has expired
  since), other ESSCertID attributes, RSASSA-PSS or SHA-1 signatures, or
  another key.

This module is independent of :mod:`anchoring` on purpose: the corpus must not
be shaped by the code it tests. :func:`openssl_verify` runs the command an
expert would run (``openssl ts -verify``) on any item.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import namedtype, tag, univ, useful
from pyasn1_modules import rfc2634, rfc3161, rfc4055, rfc5035, rfc5280, rfc5652

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyType = Literal["rsa", "ec"]

CORPUS_POLICY_OID = "1.3.6.1.4.1.55555.9.1"
"""A made-up private arc, as the development TSA uses: no real TSA's policy."""

_SHA1 = "1.3.14.3.2.26"
_SHA1_WITH_RSA = "1.2.840.113549.1.1.5"
_SHA256_WITH_RSA = "1.2.840.113549.1.1.11"


# --- a throwaway PKI ------------------------------------------------------------------


def new_key(kind: KeyType = "rsa") -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    unit_attribute = [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)] if unit else []
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TSA corpus (tests only)"),
            *unit_attribute,
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


# Makes a TSA certificate longer than its issuing CA's, so that openssl's
# [signer, chain…] order is not DER order (a SET OF sorts shorter members first).
_TSA_UNIT = "Time-stamping unit of the corpus of real-TSA response shapes"


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def make_ca(
    common_name: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    issuer: Issued | None = None,
) -> Issued:
    """A CA certificate, self-signed unless ``issuer`` is given."""
    key = new_key()
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.certificate.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def make_tsa_certificate(
    issuer: Issued,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    kind: KeyType = "rsa",
    common_name: str = "Corpus TSA",
) -> Issued:
    """A TSA certificate: critical timeStamping EKU, as RFC 3161 §2.3 requires."""
    key = new_key(kind)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, _TSA_UNIT))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


# --- openssl ts -----------------------------------------------------------------------

_CONFIG = """\
[ tsa ]
default_tsa = corpus

[ corpus ]
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.pem
signer_key = ./tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = {ess_alg}
{certs_line}"""


@dataclass
class CorpusTSA:
    """One TSA of the corpus: its PKI on disk and ``openssl ts`` to sign with it."""

    openssl: str
    directory: Path
    root: Issued
    tsa: Issued
    intermediate: Issued | None = None
    ess_cert_id_alg: str = "sha256"
    embed_chain: bool = False
    """``certs = chain.pem``: openssl then embeds the intermediate, in non-DER order."""
    _count: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "tsa.pem").write_bytes(self.tsa.pem)
        (self.directory / "tsa.key").write_bytes(
            self.tsa.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        if self.intermediate is not None:
            (self.directory / "chain.pem").write_bytes(self.intermediate.pem)
        (self.directory / "serial").write_text("01\n")
        certs_line = "certs = ./chain.pem\n" if self.embed_chain else ""
        config = _CONFIG.format(
            policy=CORPUS_POLICY_OID, ess_alg=self.ess_cert_id_alg, certs_line=certs_line
        )
        (self.directory / "tsa.cnf").write_text(config)

    @property
    def chain_pem(self) -> bytes:
        """The certificates an expert's trust configuration lists besides the root."""
        return self.tsa.pem + (self.intermediate.pem if self.intermediate else b"")

    def query(self, digest: bytes, *, cert_req: bool = True) -> bytes:
        """``openssl ts -query`` over a SHA-256 digest (a random nonce included)."""
        self._count += 1
        out = self.directory / f"q{self._count}.tsq"
        command = [self.openssl, "ts", "-query", "-digest", digest.hex(), "-sha256"]
        command += ["-cert"] if cert_req else []
        self._run([*command, "-out", str(out)])
        return out.read_bytes()

    def reply(self, query: bytes, *, token_out: bool = False) -> bytes:
        """``openssl ts -reply``: a ``TimeStampResp``, or with ``token_out`` the bare token."""
        self._count += 1
        query_file = self.directory / f"r{self._count}.tsq"
        out = self.directory / f"r{self._count}.tsr"
        query_file.write_bytes(query)
        command = [self.openssl, "ts", "-reply", "-config", "tsa.cnf"]
        command += ["-queryfile", query_file.name, "-out", out.name]
        command += ["-token_out"] if token_out else []
        self._run(command)
        return out.read_bytes()

    def stamp(self, digest: bytes, *, cert_req: bool = True, token_out: bool = False) -> bytes:
        return self.reply(self.query(digest, cert_req=cert_req), token_out=token_out)

    def _run(self, command: list[str]) -> None:
        subprocess.run(command, cwd=self.directory, capture_output=True, check=True, timeout=60)


@dataclass(frozen=True)
class OpensslVerdict:
    passed: bool
    output: str


def openssl_verify(
    openssl: str,
    directory: Path,
    blob: bytes,
    *,
    digest: bytes,
    ca_pem: bytes,
    untrusted_pem: bytes | None = None,
    attime: dt.datetime | None = None,
    token_in: bool = False,
) -> OpensslVerdict:
    """``openssl ts -verify -digest … -CAfile … [-untrusted …] [-attime …] [-token_in]``."""
    directory.mkdir(parents=True, exist_ok=True)
    blob_path = directory / ("token.tst" if token_in else "response.tsr")
    blob_path.write_bytes(blob)
    (directory / "ca.pem").write_bytes(ca_pem)
    command = [openssl, "ts", "-verify", "-in", blob_path.name, "-CAfile", "ca.pem"]
    command += ["-digest", digest.hex()]
    if token_in:
        command.append("-token_in")
    if untrusted_pem is not None:
        (directory / "untrusted.pem").write_bytes(untrusted_pem)
        command += ["-untrusted", "untrusted.pem"]
    if attime is not None:
        command += ["-attime", str(int(attime.timestamp()))]
    result = subprocess.run(
        command, cwd=directory, capture_output=True, text=True, timeout=60, check=False
    )
    output = " ".join((result.stdout + result.stderr).split())
    return OpensslVerdict(result.returncode == 0 and "Verification: OK" in result.stdout, output)


# --- ASN.1 variants (pyasn1) ------------------------------------------------------------


def _members(tag_number: int) -> Any:
    """``[n] IMPLICIT`` certificates/crls kept in the order they are given."""
    implicit = tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, tag_number)
    return univ.SequenceOf(componentType=univ.Any()).subtype(implicitTag=implicit)


def _signed_data_spec() -> Any:
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("version", rfc5652.CMSVersion()),
            namedtype.NamedType("digestAlgorithms", rfc5652.DigestAlgorithmIdentifiers()),
            namedtype.NamedType("encapContentInfo", rfc5652.EncapsulatedContentInfo()),
            namedtype.OptionalNamedType("certificates", _members(0)),
            namedtype.OptionalNamedType("crls", _members(1)),
            namedtype.NamedType("signerInfos", rfc5652.SignerInfos()),
        )
    )


def _response_spec() -> Any:
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("status", rfc3161.PKIStatusInfo()),
            namedtype.OptionalNamedType("timeStampToken", univ.Any()),
        )
    )


def _decode(data: bytes, spec: Any) -> Any:
    value, rest = der_decoder.decode(data, asn1Spec=spec)
    assert not rest
    return value


@dataclass
class _Opened:
    """A response taken apart for editing, and put back together by :meth:`close`."""

    response: Any
    content_info: Any
    signed_data: Any

    @classmethod
    def open(cls, response_der: bytes) -> _Opened:
        response = _decode(response_der, _response_spec())
        content_info = _decode(bytes(response["timeStampToken"]), rfc5652.ContentInfo())
        signed_data = _decode(bytes(content_info["content"]), _signed_data_spec())
        return cls(response, content_info, signed_data)

    def close(self) -> bytes:
        # Without the option pyasn1 would drop a present but empty `certificates` SET.
        self.content_info["content"] = der_encoder.encode(
            self.signed_data, omitEmptyOptionals=False
        )
        self.response["timeStampToken"] = der_encoder.encode(self.content_info)
        return bytes(der_encoder.encode(self.response))

    @property
    def signer(self) -> Any:
        return self.signed_data["signerInfos"][0]


def token_of(response_der: bytes) -> bytes:
    """The ``TimeStampToken`` bytes inside a response."""
    return bytes(_decode(response_der, _response_spec())["timeStampToken"])


def certificates_of(response_der: bytes) -> list[bytes] | None:
    """The embedded certificates in the order written (``None``: field absent)."""
    certificates = _Opened.open(response_der).signed_data["certificates"]
    return [bytes(c) for c in certificates] if certificates.isValue else None


def with_certificates(
    response_der: bytes, certificates_der: Sequence[bytes] | None, *, der_order: bool = True
) -> bytes:
    """The response with another ``certificates`` field (``None``: absent; ``[]``: empty SET).

    With ``der_order=False`` the members are written in the order given, as
    some TSAs (and ``openssl ts`` with ``certs =``) do.
    """
    opened = _Opened.open(response_der)
    if certificates_der is None:
        opened.signed_data["certificates"] = univ.noValue
        return opened.close()
    members = _members(0).clone()
    members.clear()
    ordered = sorted(certificates_der) if der_order else list(certificates_der)
    for position, der in enumerate(ordered):
        members[position] = univ.Any(der)
    opened.signed_data["certificates"] = members
    return opened.close()


@dataclass(frozen=True)
class Resign:
    """How :func:`resign` changes a token before signing it again."""

    key: PrivateKey | None
    """``None``: change the TSTInfo only, keeping the old signed attributes and
    signature (a token edited after signing)."""
    gen_time: dt.datetime | None = None
    """A new genTime (whole seconds); signingTime follows it."""
    ess: tuple[tuple[int, bytes], ...] | None = None
    """Replace the signing-certificate attributes: ``(version, certificate DER)`` each."""
    signature: Literal["pkcs1", "pss", "sha1"] = "pkcs1"


def resign(response_der: bytes, change: Resign) -> bytes:
    """The response with its TSTInfo and signed attributes changed and signed again.

    The result is a well-formed token whose signature holds for ``change.key``:
    a TSA that backdated its clock, a token from years ago, or a forgery,
    depending on the key and the certificates.
    """
    opened = _Opened.open(response_der)
    encap = opened.signed_data["encapContentInfo"]
    tst_info = bytes(encap["eContent"])
    if change.gen_time is not None:
        info = _decode(tst_info, rfc3161.TSTInfo())
        info["genTime"] = useful.GeneralizedTime(change.gen_time.strftime("%Y%m%d%H%M%SZ"))
        tst_info = bytes(der_encoder.encode(info))
        encap["eContent"] = tst_info
    if change.key is None:
        return opened.close()
    signer = opened.signer
    # A SHA-1 token is SHA-1 throughout, as old TSAs made them.
    digest_name = "sha1" if change.signature == "sha1" else "sha256"
    if change.signature == "sha1":
        signer["digestAlgorithm"] = _algorithm(_SHA1)
        algorithms = opened.signed_data["digestAlgorithms"].clone()
        algorithms.clear()
        algorithms[0] = _algorithm(_SHA1)
        opened.signed_data["digestAlgorithms"] = algorithms
    attributes = [bytes(der_encoder.encode(a)) for a in signer["signedAttrs"]]
    rebuilt: list[bytes] = []
    for der in attributes:
        attribute = _decode(der, rfc5652.Attribute())
        kind = attribute["attrType"]
        if kind == rfc5652.id_messageDigest:
            digest = hashlib.new(digest_name, tst_info).digest()
            attribute["attrValues"][0] = univ.Any(der_encoder.encode(univ.OctetString(digest)))
        elif kind == rfc5652.id_signingTime and change.gen_time is not None:
            moment = useful.UTCTime(change.gen_time.strftime("%y%m%d%H%M%SZ"))
            attribute["attrValues"][0] = univ.Any(der_encoder.encode(moment))
        elif change.ess is not None and kind in (
            rfc2634.id_aa_signingCertificate,
            rfc5035.id_aa_signingCertificateV2,
        ):
            continue
        rebuilt.append(bytes(der_encoder.encode(attribute)))
    rebuilt += [_ess_attribute(version, cert) for version, cert in change.ess or ()]
    signed_attrs = signer["signedAttrs"].clone()
    signed_attrs.clear()
    for position, der in enumerate(rebuilt):
        signed_attrs[position] = _decode(der, rfc5652.Attribute())
    signer["signedAttrs"] = signed_attrs
    # RFC 5652 §5.4: the signature covers the attributes as a DER SET OF.
    to_sign = b"\x31" + bytes(der_encoder.encode(signed_attrs))[1:]
    algorithm, signature = _sign(change.key, change.signature, to_sign)
    signer["signatureAlgorithm"] = algorithm
    signer["signature"] = signature
    return opened.close()


def _algorithm(oid: str) -> Any:
    value = rfc5280.AlgorithmIdentifier()
    value["algorithm"] = univ.ObjectIdentifier(oid)
    value["parameters"] = der_encoder.encode(univ.Null(""))
    return value


def _sign(key: PrivateKey, kind: str, data: bytes) -> tuple[Any, bytes]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = rfc5280.AlgorithmIdentifier()
        algorithm["algorithm"] = univ.ObjectIdentifier("1.2.840.10045.4.3.2")
        return algorithm, key.sign(data, ec.ECDSA(hashes.SHA256()))
    if kind == "pss":
        # SHA-256 throughout and a 32-byte salt (not the RFC 4055 default of 20).
        sha256_params = der_encoder.encode(rfc4055.rSASSA_PSS_SHA256_Params)
        params = _decode(sha256_params, rfc4055.RSASSA_PSS_params())
        params["saltLength"] = 32
        algorithm = rfc5280.AlgorithmIdentifier()
        algorithm["algorithm"] = rfc4055.id_RSASSA_PSS
        algorithm["parameters"] = der_encoder.encode(params)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return algorithm, key.sign(data, pss, hashes.SHA256())
    if kind == "sha1":
        return _algorithm(_SHA1_WITH_RSA), key.sign(data, padding.PKCS1v15(), hashes.SHA1())
    return _algorithm(_SHA256_WITH_RSA), key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _ess_attribute(version: int, certificate_der: bytes) -> bytes:
    """A SigningCertificate (v1, SHA-1) or SigningCertificateV2 (SHA-256) attribute."""
    attribute = rfc5652.Attribute()
    if version == 1:
        ess_id = rfc2634.ESSCertID()
        ess_id["certHash"] = hashlib.sha1(certificate_der).digest()
        value = rfc2634.SigningCertificate()
        value["certs"].append(ess_id)
        attribute["attrType"] = rfc2634.id_aa_signingCertificate
    else:
        ess_v2 = rfc5035.ESSCertIDv2()
        ess_v2["certHash"] = hashlib.sha256(certificate_der).digest()
        value = rfc5035.SigningCertificateV2()
        value["certs"].append(ess_v2)
        attribute["attrType"] = rfc5035.id_aa_signingCertificateV2
    attribute["attrValues"].append(univ.Any(der_encoder.encode(value)))
    return bytes(der_encoder.encode(attribute))


def gen_time_of(response_der: bytes) -> dt.datetime:
    """genTime of a response's TSTInfo, read with pyasn1 (for ``-attime``)."""
    opened = _Opened.open(response_der)
    info = _decode(bytes(opened.signed_data["encapContentInfo"]["eContent"]), rfc3161.TSTInfo())
    moment: dt.datetime = info["genTime"].asDateTime
    return moment.astimezone(dt.UTC)


__all__ = [
    "CORPUS_POLICY_OID",
    "CorpusTSA",
    "Issued",
    "OpensslVerdict",
    "Resign",
    "certificates_of",
    "gen_time_of",
    "make_ca",
    "make_tsa_certificate",
    "new_key",
    "openssl_verify",
    "resign",
    "token_of",
    "with_certificates",
]
