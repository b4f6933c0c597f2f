"""Detached CMS manifest signatures, cross-checked with ``openssl cms -verify``.

Every negative case checks both that our verifier names WHAT failed and that
OpenSSL (the tool an expert will run) refuses the same input.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1_modules import rfc5652

from evidence.model import officer_keys as officers
from evidence.model.errors import CertificateError, SignatureError
from evidence.model.signatures import sign_manifest, signer_certificate, verify_manifest_signature
from tests.conftest import require_tool

MANIFEST = b'{"format":"evidence-toolkit/manifest/v1","item_id":"0001","sha256":"ab"}'
SIGNED_AT = datetime(2026, 11, 26, 9, 30, 15, 123000, tzinfo=UTC)
BEFORE = SIGNED_AT - timedelta(days=1)


@dataclass(frozen=True)
class Party:
    key: officers.OfficerPrivateKey
    cert: x509.Certificate

    def pem(self, directory: Path, name: str) -> Path:
        path = directory / f"{name}.pem"
        path.write_bytes(self.cert.public_bytes(Encoding.PEM))
        return path


def _officer(name: str, enforcement_id: str, algorithm: str = officers.ECDSA_P256) -> Party:
    key = officers.generate_key(algorithm)
    subject = officers.officer_subject(name, enforcement_id, "某市市场监督管理局")
    return Party(key, officers.self_signed_certificate(key, subject, not_before=BEFORE))


def _agency_ca() -> Party:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Agency Test CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(BEFORE - timedelta(days=30))
        .not_valid_after(BEFORE + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Party(key, cert)


def _issued_by(ca: Party, name: str, enforcement_id: str) -> Party:
    key = officers.generate_key()
    csr = officers.certificate_request(key, officers.officer_subject(name, enforcement_id, None))
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(BEFORE)
        .not_valid_after(BEFORE + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Party(key, cert)


@pytest.fixture(scope="module")
def alice() -> Party:
    return _officer("张三", "11010001")


@pytest.fixture(scope="module")
def bob() -> Party:
    return _officer("李四", "11010002")


@pytest.fixture(scope="module")
def openssl() -> str:
    return require_tool("openssl")


def _openssl_verify(
    openssl: str, tmp: Path, manifest: bytes, signature: bytes, ca_file: Path
) -> subprocess.CompletedProcess[str]:
    (tmp / "manifest.json").write_bytes(manifest)
    (tmp / "sig.p7s").write_bytes(signature)
    return subprocess.run(
        [
            openssl, "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(tmp / "sig.p7s"), "-content", str(tmp / "manifest.json"),
            "-CAfile", str(ca_file), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip


def _openssl_ok(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "Verification successful" in result.stderr


@pytest.mark.parametrize("algorithm", officers.KEY_ALGORITHMS)
def test_round_trip_names_the_signer(algorithm: str) -> None:
    party = _officer("张三", "A 12/34", algorithm)
    signature = sign_manifest(MANIFEST, party.key, party.cert, signing_time=SIGNED_AT)
    untrusted = verify_manifest_signature(MANIFEST, signature, None)
    assert untrusted.trusted is False
    assert untrusted.common_name == "张三"
    assert untrusted.enforcement_id == "A 12/34"
    assert untrusted.key_algorithm == algorithm
    assert untrusted.digest_algorithm == ("sha512" if algorithm == officers.ED25519 else "sha256")
    assert untrusted.signing_time == SIGNED_AT.replace(microsecond=0)
    assert untrusted.certificate_sha256 == party.cert.fingerprint(hashes.SHA256()).hex()
    assert "O=某市市场监督管理局" in untrusted.subject
    trusted = verify_manifest_signature(MANIFEST, signature, [party.cert])
    assert trusted.trusted is True
    # The bundle verifier hands roots over as PEM bytes.
    as_pem = party.cert.public_bytes(Encoding.PEM)
    assert verify_manifest_signature(MANIFEST, signature, as_pem).trusted is True
    with pytest.raises(CertificateError, match="signer trust roots are not PEM certificates"):
        verify_manifest_signature(MANIFEST, signature, b"-----BEGIN CERTIFICATE-----\nAA\n")
    assert signer_certificate(signature) == party.cert


def test_openssl_verifies_a_good_ecdsa_signature(
    alice: Party, openssl: str, tmp_path: Path
) -> None:
    signature = sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=SIGNED_AT)
    result = _openssl_verify(openssl, tmp_path, MANIFEST, signature, alice.pem(tmp_path, "a"))
    assert _openssl_ok(result), result.stderr
    assert verify_manifest_signature(MANIFEST, signature, [alice.cert]).trusted


def test_openssl_parses_an_ed25519_signature(openssl: str, tmp_path: Path) -> None:
    # OpenSSL 3.0 cannot verify EdDSA inside CMS ("invalid digest"), which is why
    # ECDSA P-256 is the default; the structure must still be standard CMS.
    party = _officer("王五", "11010003", officers.ED25519)
    signature = sign_manifest(MANIFEST, party.key, party.cert, signing_time=SIGNED_AT)
    (tmp_path / "sig.p7s").write_bytes(signature)
    printed = subprocess.run(
        [openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "sig.p7s")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "ED25519 (1.3.101.112)" in printed
    assert "sha512" in printed
    assert "eContent: <ABSENT>" in printed


def test_a_flipped_manifest_byte_is_a_digest_mismatch(
    alice: Party, openssl: str, tmp_path: Path
) -> None:
    signature = sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=SIGNED_AT)
    tampered = bytearray(MANIFEST)
    tampered[20] ^= 0x01
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(bytes(tampered), signature, [alice.cert])
    assert caught.value.failure == "digest"
    assert caught.value.message.startswith("digest mismatch")
    assert "张三 (enforcement ID 11010001)" in caught.value.message
    result = _openssl_verify(
        openssl, tmp_path, bytes(tampered), signature, alice.pem(tmp_path, "a")
    )
    assert not _openssl_ok(result)
    # OpenSSL names the content (messageDigest) check, not the signature check.
    assert "CMS_SignerInfo_verify_content:verification failure" in result.stderr


def test_a_flipped_signature_byte_is_a_bad_signature(
    alice: Party, openssl: str, tmp_path: Path
) -> None:
    signature = bytearray(sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=SIGNED_AT))
    # No unsigned attributes: the DER ends with the ECDSA-Sig-Value's last byte.
    signature[-1] ^= 0x01
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST, bytes(signature), [alice.cert])
    assert caught.value.failure == "signature"
    assert caught.value.message.startswith("bad signature")
    result = _openssl_verify(
        openssl, tmp_path, MANIFEST, bytes(signature), alice.pem(tmp_path, "a")
    )
    assert not _openssl_ok(result)
    assert "CMS_SignerInfo_verify:verification failure" in result.stderr


def test_a_signature_by_another_key_under_this_certificate_is_refused(
    alice: Party, bob: Party, openssl: str, tmp_path: Path
) -> None:
    """A forgery: Bob's signature value put into a CMS that presents Alice's certificate."""
    genuine = sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=SIGNED_AT)
    by_bob = sign_manifest(MANIFEST, bob.key, bob.cert, signing_time=SIGNED_AT)
    forged = _swap_signature_value(genuine, by_bob)
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST, forged, None)
    assert caught.value.failure == "signature"
    assert "张三" in caught.value.message
    result = _openssl_verify(openssl, tmp_path, MANIFEST, forged, alice.pem(tmp_path, "a"))
    assert not _openssl_ok(result)


def _swap_signature_value(target: bytes, source: bytes) -> bytes:
    def signed_data(der: bytes) -> tuple[rfc5652.ContentInfo, rfc5652.SignedData]:
        info, _ = der_decoder.decode(der, asn1Spec=rfc5652.ContentInfo())
        data, _ = der_decoder.decode(bytes(info["content"]), asn1Spec=rfc5652.SignedData())
        return info, data

    info, data = signed_data(target)
    _, other = signed_data(source)
    data["signerInfos"][0]["signature"] = other["signerInfos"][0]["signature"]
    info["content"] = der_encoder.encode(data)
    return bytes(der_encoder.encode(info))


def test_an_untrusted_signer_is_named(
    alice: Party, bob: Party, openssl: str, tmp_path: Path
) -> None:
    signature = sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=SIGNED_AT)
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST, signature, [bob.cert])
    assert caught.value.failure == "untrusted"
    assert caught.value.message.startswith("untrusted signer 张三 (enforcement ID 11010001)")
    result = _openssl_verify(openssl, tmp_path, MANIFEST, signature, bob.pem(tmp_path, "b"))
    assert not _openssl_ok(result)
    assert "certificate verify error" in result.stderr


def test_a_certificate_issued_by_the_agency_ca_chains_to_it(openssl: str, tmp_path: Path) -> None:
    ca = _agency_ca()
    officer = _issued_by(ca, "赵六", "11010004")
    signature = sign_manifest(MANIFEST, officer.key, officer.cert, signing_time=SIGNED_AT)
    signer = verify_manifest_signature(MANIFEST, signature, [ca.cert])
    assert signer.trusted and signer.issuer == "CN=Agency Test CA"
    assert _openssl_ok(
        _openssl_verify(openssl, tmp_path, MANIFEST, signature, ca.pem(tmp_path, "ca"))
    )
    # Another CA, or another officer's self-signed certificate, vouches for nobody.
    for roots in ([_agency_ca().cert], [_officer("X", "1").cert]):
        with pytest.raises(SignatureError) as caught:
            verify_manifest_signature(MANIFEST, signature, roots)
        assert caught.value.failure == "untrusted"


def test_a_signature_outside_the_certificate_validity_is_refused(alice: Party) -> None:
    late = alice.cert.not_valid_after_utc + timedelta(days=1)
    signature = sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=late)
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST, signature, [alice.cert])
    assert caught.value.failure == "certificate"
    assert "was not valid at the signing time" in caught.value.message
    assert alice.cert.not_valid_after_utc.isoformat() in caught.value.message


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not cms at all", b"\x30\x03\x02\x01\x01", b"\x30\x82\xff\xff" + b"\x00" * 8],
)
def test_malformed_input_is_one_line(garbage: bytes) -> None:
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST, garbage, None)
    assert caught.value.failure == "malformed"
    assert caught.value.message.startswith("malformed CMS signature")
    assert "\n" not in caught.value.message


def test_truncated_signature_is_malformed(alice: Party) -> None:
    signature = sign_manifest(MANIFEST, alice.key, alice.cert, signing_time=SIGNED_AT)
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST, signature[:-10], None)
    assert caught.value.failure == "malformed"


def test_signing_time_after_2049_uses_generalized_time() -> None:
    key = officers.generate_key()
    moment = datetime(2051, 3, 4, 5, 6, 7, tzinfo=UTC)
    cert = officers.self_signed_certificate(
        key, officers.officer_subject("T", "9", None), not_before=moment - timedelta(days=1)
    )
    signature = sign_manifest(MANIFEST, key, cert, signing_time=moment)
    assert verify_manifest_signature(MANIFEST, signature, [cert]).signing_time == moment


def test_we_verify_what_cryptography_pkcs7_builder_signs(alice: Party) -> None:
    """An independent producer (cryptography's PKCS7SignatureBuilder, with its
    SMIMECapabilities attribute) verifies with our pyasn1-based verifier."""
    assert isinstance(alice.key, ec.EllipticCurvePrivateKey)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(MANIFEST)
        .add_signer(alice.cert, alice.key, hashes.SHA256())
        .sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    signer = verify_manifest_signature(MANIFEST, signature, [alice.cert])
    assert signer.trusted and signer.enforcement_id == "11010001"
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(MANIFEST + b" ", signature, [alice.cert])
    assert caught.value.failure == "digest"
