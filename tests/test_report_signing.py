"""PAdES signatures on the report: two officers, a real (development) TSA, two validators.

Keys and certificates are made here (an officer CA, ECDSA P-256 and Ed25519
officers); the timestamps come from the toolkit's openssl-backed development
TSA over HTTP, through the evidence timestamps' own client
(:func:`anchoring.tsa.request_timestamps`). Every signature is checked with
pyHanko's validator and with poppler's ``pdfsig``, and every kind of damage
must be named.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import RetryPolicy, TSAConfig, request_timestamps
from evidence.model.errors import ReportError, TimestampError
from reports.pdf import render_report
from reports.pdfa import pdfa_identification
from reports.signing import PdfTimestamper, sign_pdf, validate_pdf_signatures
from tests.conftest import require_tool
from tests.test_report_pdf import make_input


@dataclass(frozen=True)
class Officer:
    key: PrivateKeyTypes
    certificate: x509.Certificate
    label: str


@dataclass(frozen=True)
class PKI:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    tsa: DevelopmentTSA
    tsa_root: x509.Certificate

    @property
    def roots(self) -> list[x509.Certificate]:
        return [self.root, self.tsa_root]


def _name(common_name: str, enforcement_id: str | None = None) -> x509.Name:
    badge = [x509.NameAttribute(NameOID.SERIAL_NUMBER, enforcement_id)] if enforcement_id else []
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "某市市场监督管理局"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            *badge,
        ]
    )


def _certificate(
    subject: str,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    enforcement_id: str | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject, enforcement_id))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PKI]:
    yield from running_pki(tmp_path_factory)


def running_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PKI]:
    """An officer CA and a running development TSA, for a fixture to yield from."""
    require_tool("openssl")
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(
        "Officer CA (test)", root_key.public_key(), "Officer CA (test)", root_key, ca=True
    )
    tsa = DevelopmentTSA(tmp_path_factory.mktemp("tsa"))
    tsa.start()
    try:
        yield PKI(root, root_key, tsa, x509.load_pem_x509_certificate(tsa.ca_certificate_pem))
    finally:
        tsa.stop()


def tsa_timestamper(config: TSAConfig, *, attempts: int = 3) -> PdfTimestamper:
    """The PDF signer's timestamper on the evidence timestamps' client (retry, checks)."""

    def stamp(message_digest: bytes, hash_algorithm: str) -> bytes:
        got = request_timestamps(
            message_digest,
            [config],
            hash_algorithm=hash_algorithm,
            retry=RetryPolicy(attempts=attempts, backoff_s=0.05),
        )
        if not got.tokens:
            raise TimestampError(f"no timestamp for the PDF signature: {'; '.join(got.failures)}")
        return got.tokens[0].token_der

    return stamp


def make_officer(
    pki: PKI, label: str, *, ed: bool = False, enforcement_id: str | None = None
) -> Officer:
    """An officer of the test CA; ``enforcement_id`` goes into the subject's serialNumber."""
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
        ed25519.Ed25519PrivateKey.generate() if ed else ec.generate_private_key(ec.SECP256R1())
    )
    cert = _certificate(
        label,
        key.public_key(),
        "Officer CA (test)",
        pki.root_key,
        ca=False,
        enforcement_id=enforcement_id,
    )
    return Officer(key, cert, label)


def sign_as(pki: PKI, pdf_in: Path, pdf_out: Path, officer: Officer, field: str) -> Path:
    return sign_pdf(
        pdf_in,
        pdf_out,
        key=officer.key,
        certificate=officer.certificate,
        chain=[pki.root],
        field_name=field,
        signer_label=officer.label,
        timestamper=tsa_timestamper(pki.tsa.config()),
        tsa_roots=pki.tsa.ca_certificate_pem,
    )


@pytest.fixture(scope="module")
def signed(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("signed")
    report = render_report(make_input(base), base / "report.pdf")
    first = sign_as(pki, report, base / "one.pdf", make_officer(pki, "张三 11010001"), "Officer1")
    both = sign_as(pki, first, base / "two.pdf", make_officer(pki, "李四 11010002"), "Officer2")
    return {"report": report, "one": first, "two": both}


def _pdfsig(pdf: Path) -> list[dict[str, str]]:
    """pdfsig's per-signature fields, parsed from its text output."""
    out = subprocess.run(
        [require_tool("pdfsig"), str(pdf)], capture_output=True, text=True, check=False
    ).stdout
    signatures: list[dict[str, str]] = []
    for line in out.splitlines():
        if line.startswith("Signature #"):
            signatures.append({})
        elif line.strip().startswith("- ") and signatures:
            key, _, value = line.strip()[2:].partition(":")
            signatures[-1][key.strip()] = value.strip() if value else key.strip()
        elif "not signed" in line and signatures:
            signatures[-1]["unsigned"] = "yes"
    # The report's prepared, still empty signature fields are listed too.
    return [s for s in signatures if "unsigned" not in s]


def test_one_signature_valid_in_pyhanko(pki: PKI, signed: dict[str, Path]) -> None:
    (check,) = validate_pdf_signatures(signed["one"], pki.roots)
    assert check.field == "Officer1"
    assert "张三 11010001" in check.signer_subject
    assert check.intact and check.trusted and check.timestamp_trusted
    assert check.covers_whole_file
    assert check.modification_level == "NONE"
    assert check.timestamp_time is not None
    assert abs(check.timestamp_time - datetime.now(UTC)) < timedelta(minutes=10)
    assert check.valid


def test_co_signature_keeps_first_valid(pki: PKI, signed: dict[str, Path]) -> None:
    first, second = validate_pdf_signatures(signed["two"], pki.roots)
    assert (first.field, second.field) == ("Officer1", "Officer2")
    # The first signature now covers a revision, followed by the co-signature only.
    assert first.intact and first.trusted and not first.covers_whole_file
    assert first.modification_level == "FORM_FILLING"
    assert second.intact and second.covers_whole_file and second.modification_level == "NONE"
    assert first.valid and second.valid
    assert second.timestamp_time is not None and first.timestamp_time is not None
    assert second.timestamp_time >= first.timestamp_time


def test_pdfsig_agrees(signed: dict[str, Path]) -> None:
    sigs = _pdfsig(signed["two"])
    assert [s["Signature Field Name"] for s in sigs] == ["Officer1", "Officer2"]
    for sig in sigs:
        assert sig["Signature Validation"] == "Signature is Valid.", sig
        assert sig["Signature Type"] == "ETSI.CAdES.detached"
    assert "Not total document signed" in sigs[0]
    assert "Total document signed" in sigs[1]


def test_signing_keeps_pdfa_identification(signed: dict[str, Path]) -> None:
    assert pdfa_identification(signed["report"]) == ("2", "B")
    assert pdfa_identification(signed["two"]) == ("2", "B")


def test_untrusted_root_is_named(pki: PKI, signed: dict[str, Path]) -> None:
    (check,) = validate_pdf_signatures(signed["one"], [pki.tsa_root])
    assert check.intact and not check.trusted and not check.valid
    (check,) = validate_pdf_signatures(signed["one"], [pki.root])
    assert check.intact and check.trusted and not check.timestamp_trusted and not check.valid


def _flip_in_signed_range(source: Path, target: Path) -> Path:
    data = bytearray(source.read_bytes())
    # Inside the page content, well before the signature's /Contents hole.
    index = data.index(b"stream", len(data) // 4) + 20
    data[index] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def test_flipped_byte_breaks_signature(pki: PKI, signed: dict[str, Path], tmp_path: Path) -> None:
    bad = _flip_in_signed_range(signed["one"], tmp_path / "flipped.pdf")
    (check,) = validate_pdf_signatures(bad, pki.roots)
    assert not check.intact and not check.valid
    (sig,) = _pdfsig(bad)
    assert sig["Signature Validation"] != "Signature is Valid.", sig


def test_appended_update_is_detected(pki: PKI, signed: dict[str, Path], tmp_path: Path) -> None:
    # An incremental update drawing a box over page 1 after signing.
    bad = tmp_path / "appended.pdf"
    bad.write_bytes(signed["one"].read_bytes())
    with bad.open("r+b") as stream:
        writer = IncrementalPdfFileWriter(stream)
        box = writer.add_object(generic.StreamObject(stream_data=b"1 1 1 rg 50 50 300 80 re f"))
        writer.add_stream_to_page(0, box)  # type: ignore[no-untyped-call]
        writer.write_in_place()  # type: ignore[no-untyped-call]
    (check,) = validate_pdf_signatures(bad, pki.roots)
    assert check.intact  # the signed revision itself is untouched...
    assert not check.covers_whole_file  # ...but something came after it
    assert check.modification_level not in ("NONE", "FORM_FILLING"), check
    assert not check.valid
    (sig,) = _pdfsig(bad)
    assert "Not total document signed" in sig


def test_ed25519_officer(pki: PKI, signed: dict[str, Path], tmp_path: Path) -> None:
    officer = make_officer(pki, "王五 11010003", ed=True)
    out = sign_as(pki, signed["report"], tmp_path / "ed.pdf", officer, "Officer1")
    (check,) = validate_pdf_signatures(out, pki.roots)
    assert check.valid, check
    # poppler's NSS backend cannot verify Ed25519 CMS signatures (yet): it
    # reports the signature, never "valid"; pyHanko above is the check.
    (sig,) = _pdfsig(out)
    assert sig["Signature Field Name"] == "Officer1"


def test_duplicate_field_is_refused(pki: PKI, signed: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="already has a signature field 'Officer1'"):
        sign_as(pki, signed["one"], tmp_path / "dup.pdf", make_officer(pki, "x"), "Officer1")
    assert not (tmp_path / "dup.pdf").exists()


def test_unreachable_tsa_is_one_line_error(
    pki: PKI, signed: dict[str, Path], tmp_path: Path
) -> None:
    officer = make_officer(pki, "张三")
    with pytest.raises(ReportError, match="cannot sign") as caught:
        sign_pdf(
            signed["report"],
            tmp_path / "x.pdf",
            key=officer.key,
            certificate=officer.certificate,
            chain=[pki.root],
            field_name="Officer1",
            signer_label="张三",
            timestamper=tsa_timestamper(
                TSAConfig("http://127.0.0.1:9/tsa", pki.tsa.ca_certificate_pem), attempts=1
            ),
            tsa_roots=pki.tsa.ca_certificate_pem,
        )
    assert "\n" not in caught.value.message
    assert not (tmp_path / "x.pdf").exists()


def test_wrong_tsa_roots_are_refused(pki: PKI, signed: dict[str, Path], tmp_path: Path) -> None:
    officer = make_officer(pki, "张三")
    other = pki.root.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ReportError, match="does not chain to the given TSA roots"):
        sign_pdf(
            signed["report"],
            tmp_path / "x.pdf",
            key=officer.key,
            certificate=officer.certificate,
            chain=[pki.root],
            field_name="Officer1",
            signer_label="张三",
            timestamper=tsa_timestamper(pki.tsa.config()),
            tsa_roots=other,
        )
    assert not (tmp_path / "x.pdf").exists()


def test_garbage_is_one_line_error(pki: PKI, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    with pytest.raises(ReportError, match=r"junk\.pdf"):
        validate_pdf_signatures(junk, pki.roots)


def _sign_as_officer(
    pki: PKI,
    signed: dict[str, Path],
    out: Path,
    timestamper: PdfTimestamper | None,
    tsa_roots: bytes | None,
) -> Path:
    """张三 signs the report with the given timestamp client (the variable under test)."""
    officer = make_officer(pki, "张三")
    return sign_pdf(
        signed["report"],
        out,
        key=officer.key,
        certificate=officer.certificate,
        chain=[pki.root],
        field_name="Officer1",
        signer_label="张三",
        timestamper=timestamper,
        tsa_roots=tsa_roots,
    )


def test_timestamps_come_from_the_given_client(
    pki: PKI, signed: dict[str, Path], tmp_path: Path
) -> None:
    # pyHanko asks twice: a dummy digest to size the signature, then the signature value.
    asked: list[tuple[bytes, str]] = []
    client = tsa_timestamper(pki.tsa.config())

    def recording(message_digest: bytes, hash_algorithm: str) -> bytes:
        asked.append((message_digest, hash_algorithm))
        return client(message_digest, hash_algorithm)

    out = _sign_as_officer(
        pki, signed, tmp_path / "recorded.pdf", recording, pki.tsa.ca_certificate_pem
    )
    assert [algorithm for _, algorithm in asked] == ["sha256", "sha256"]
    assert all(len(digest) == 32 for digest, _ in asked)
    (check,) = validate_pdf_signatures(out, pki.roots)
    assert check.valid and check.timestamp_trusted


def test_a_token_over_another_digest_is_refused(
    pki: PKI, signed: dict[str, Path], tmp_path: Path
) -> None:
    client = tsa_timestamper(pki.tsa.config())

    def wrong(message_digest: bytes, hash_algorithm: str) -> bytes:
        return client(bytes(32), hash_algorithm)

    with pytest.raises(ReportError, match="over a different digest"):
        _sign_as_officer(pki, signed, tmp_path / "x.pdf", wrong, pki.tsa.ca_certificate_pem)
    assert not list(tmp_path.iterdir())


def test_a_timestamp_response_is_not_a_token(
    pki: PKI, signed: dict[str, Path], tmp_path: Path
) -> None:
    config = pki.tsa.config()

    def response_instead(message_digest: bytes, hash_algorithm: str) -> bytes:
        (token,) = request_timestamps(
            message_digest, [config], hash_algorithm=hash_algorithm
        ).tokens
        return token.response_der

    with pytest.raises(ReportError, match="did not return an RFC 3161 TimeStampToken"):
        _sign_as_officer(
            pki, signed, tmp_path / "x.pdf", response_instead, pki.tsa.ca_certificate_pem
        )
    assert not list(tmp_path.iterdir())


def test_a_timestamper_without_roots_is_refused(
    pki: PKI, signed: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(ReportError, match="without the TSA's trust roots"):
        _sign_as_officer(pki, signed, tmp_path / "x.pdf", tsa_timestamper(pki.tsa.config()), None)
