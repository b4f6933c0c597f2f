"""The agency CA flow, with a real ``openssl ca``: officer CSR → issued certificate → import → sign.

docs/signatures.md ("An agency-issued certificate, step by step") describes
these steps; this test walks them. The agency CA is made with ``openssl
req -x509`` and issues the officer's certificate from the toolkit's CSR with
``openssl ca -batch`` under an openssl.cnf written here. The imported
certificate signs a report (PAdES, a real development TSA); the signature is
trusted against the agency CA, not against another CA; the visible stamp
prints the certificate's SHA-256 fingerprint and issuer exactly as ``openssl
x509`` prints them, so an expert can hold the page against the agency's list.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from evidence import Settings, Toolkit
from evidence.model.errors import EvidenceError
from evidence.services.timestamping import trust_roots_of
from reports.pdf import render_report
from reports.signing import sign_pdf, validate_pdf_signatures
from tests.conftest import require_tool
from tests.test_report_pdf import make_input

NAME, ENFORCEMENT_ID, AGENCY = "张三", "11010001", "某市市场监督管理局"
PASSPHRASE = "agency ca test passphrase"

OPENSSL_CNF = """\
[ ca ]
default_ca = agency

[ agency ]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 365
policy = officer_policy
x509_extensions = officer_certificate
preserve = yes
unique_subject = no
copy_extensions = none
utf8 = yes
string_mask = utf8only

[ officer_policy ]
commonName = supplied
serialNumber = supplied
organizationName = optional

[ officer_certificate ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
[ req_dn ]
[ agency_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""


@dataclass(frozen=True)
class AgencyCA:
    dir: Path
    config: Path

    @property
    def certificate_pem(self) -> bytes:
        return (self.dir / "ca.pem").read_bytes()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def issue(self, csr_pem: bytes) -> bytes:
        """``openssl ca -batch``: the agency's step, on the officer's CSR file."""
        (self.dir / "officer.csr").write_bytes(csr_pem)
        _openssl(
            "ca", "-batch", "-config", str(self.config), "-notext",
            "-in", str(self.dir / "officer.csr"), "-out", str(self.dir / "officer.pem"),
        )  # fmt: skip
        return (self.dir / "officer.pem").read_bytes()


def _openssl(*args: str, input_bytes: bytes | None = None) -> str:
    done = subprocess.run(
        [require_tool("openssl"), *args], input=input_bytes, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def make_agency_ca(where: Path, common_name: str) -> AgencyCA:
    where.mkdir(parents=True)
    (where / "issued").mkdir()
    (where / "index.txt").write_text("")
    (where / "serial").write_text("1000\n")
    config = where / "openssl.cnf"
    config.write_text(OPENSSL_CNF.format(dir=where), encoding="utf-8")
    _openssl(
        "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(where / "ca.key"), "-out", str(where / "ca.pem"),
        "-days", "3650", "-config", str(config), "-extensions", "agency_ca", "-utf8",
        "-subj", f"/C=CN/O={AGENCY}/CN={common_name}",
    )  # fmt: skip
    return AgencyCA(where, config)


@dataclass(frozen=True)
class Issued:
    kit: Toolkit
    ca: AgencyCA
    certificate_pem: bytes


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    home = tmp_path_factory.mktemp("agency-home")
    ca = make_agency_ca(tmp_path_factory.mktemp("agency") / "ca", "某市执法证书签发CA")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        # 1. The officer's key and CSR (the key never leaves the data directory).
        kit.add_officer(NAME, ENFORCEMENT_ID, agency=AGENCY, passphrase=PASSPHRASE)
        csr = kit.officer_csr(ENFORCEMENT_ID, PASSPHRASE)
        # 2. The agency CA issues the certificate.
        issued_pem = ca.issue(csr)
        # 3. Import it, with the CA certificate as the agency hands it over.
        kit.import_officer_certificate(ENFORCEMENT_ID, issued_pem + ca.certificate_pem)
        yield Issued(kit, ca, issued_pem)


def test_the_csr_names_the_officer(issued: Issued) -> None:
    request = x509.load_pem_x509_csr(issued.kit.officer_csr(ENFORCEMENT_ID, PASSPHRASE))
    assert request.is_signature_valid
    subject = _openssl("req", "-noout", "-subject", "-nameopt", "oneline,-esc_msb",
                       input_bytes=request.public_bytes(Encoding.PEM))  # fmt: skip
    assert NAME in subject and ENFORCEMENT_ID in subject and AGENCY in subject


def test_the_imported_certificate_is_the_agencys(issued: Issued) -> None:
    officer = issued.kit.get_officer(ENFORCEMENT_ID)
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem)
    assert certificate.issuer == issued.ca.certificate.subject
    assert officer.certificate_sha256 == certificate.fingerprint(hashes.SHA256()).hex()
    # openssl itself accepts the chain: the agency CA vouches for the officer.
    (issued.ca.dir / "check.pem").write_bytes(issued.certificate_pem)
    out = _openssl(
        "verify", "-CAfile", str(issued.ca.dir / "ca.pem"), str(issued.ca.dir / "check.pem")
    )
    assert out.strip().endswith("OK")


def test_a_report_signed_with_the_agency_certificate(issued: Issued, tmp_path: Path) -> None:
    kit = issued.kit
    signer = kit.report_signer(ENFORCEMENT_ID, PASSPHRASE)
    configs = kit.timestamping.tsa_configs()
    report = render_report(make_input(tmp_path), tmp_path / "report.pdf")
    signed = sign_pdf(
        report,
        tmp_path / "signed.pdf",
        key=signer.key,
        certificate=signer.certificate,
        chain=(*signer.chain, issued.ca.certificate),
        field_name="Officer1",
        signer_label=signer.label,
        timestamper=kit.timestamping.pdf_timestamper(configs),
        tsa_roots=trust_roots_of(configs),
    )
    tsa_roots = x509.load_pem_x509_certificates(trust_roots_of(configs))
    (check,) = validate_pdf_signatures(signed, [issued.ca.certificate], tsa_roots=tsa_roots)
    assert check.valid, check
    # What the stamp and the verifier print is what openssl prints for the issued file.
    fingerprint = _openssl("x509", "-noout", "-fingerprint", "-sha256",
                           input_bytes=issued.certificate_pem)  # fmt: skip
    assert check.fingerprint == fingerprint.strip().split("=", 1)[1]
    issuer = _openssl("x509", "-noout", "-issuer", "-nameopt", "oneline,-esc_msb",
                      input_bytes=issued.certificate_pem)  # fmt: skip
    assert check.issuer == issuer.strip().split("=", 1)[1].strip()

    # Another agency's CA does not vouch for this officer.
    other = make_agency_ca(tmp_path / "other-ca", "另一机构CA")
    (foreign,) = validate_pdf_signatures(signed, [other.certificate], tsa_roots=tsa_roots)
    assert foreign.intact and not foreign.trusted and not foreign.valid


def test_a_certificate_for_another_key_is_refused(issued: Issued, tmp_path: Path) -> None:
    # The agency issues a certificate on a CSR made with some other key.
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "r.csr"), "-utf8",
        "-config", str(issued.ca.config),
        "-subj", f"/CN={NAME}/serialNumber={ENFORCEMENT_ID}/O={AGENCY}",
    )  # fmt: skip
    stranger = issued.ca.issue((tmp_path / "r.csr").read_bytes())
    before = issued.kit.get_officer(ENFORCEMENT_ID).certificate_sha256
    with pytest.raises(EvidenceError, match="does not match the key"):
        issued.kit.import_officer_certificate(ENFORCEMENT_ID, stranger)
    assert issued.kit.get_officer(ENFORCEMENT_ID).certificate_sha256 == before
