"""An officer certificate issued by an intermediate CA: the whole chain is kept and embedded.

A real ``openssl ca`` PKI (root → intermediate → officer, tests/agency_pki.py).
The officer's certificate is imported with the intermediate and the root; the
toolkit checks every link and keeps them. A manifest signature then embeds
the intermediate, so ``openssl cms -verify -CAfile root.pem`` succeeds with
no ``-untrusted`` file, and the toolkit's verifier trusts it against the root
alone; a report signature (PAdES) likewise validates against the root alone.
Broken chains are refused and the officer keeps the certificate they had.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from evidence import Settings, Toolkit
from evidence.model.errors import CertificateError, SignatureError, SignatureFailure
from evidence.model.signatures import verify_manifest_signature
from evidence.services.officers import officer_row, require_chain
from evidence.services.timestamping import trust_roots_of
from reports.pdf import render_report
from reports.signing import sign_pdf, validate_pdf_signatures
from tests.agency_pki import AGENCY, CA, make_intermediate, make_root, openssl
from tests.cli_support import run, succeeded
from tests.conftest import require_tool
from tests.helpers import seal_synthetic_item
from tests.test_report_pdf import make_input

NAME, ENFORCEMENT_ID = "王五", "11010077"
PASSPHRASE = "agency chain test passphrase"
CASE = "测试-2026-CHAIN"


@dataclass(frozen=True)
class Pki:
    kit: Toolkit
    home: Path
    root: CA
    intermediate: CA
    officer_pem: bytes


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    require_tool("openssl")
    home = tmp_path_factory.mktemp("chain-home")
    where = tmp_path_factory.mktemp("chain-pki")
    root = make_root(where / "root", "某市执法证书根CA")
    intermediate = make_intermediate(root, where / "sub", "某市执法证书签发子CA")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        kit.add_officer(NAME, ENFORCEMENT_ID, agency=AGENCY, passphrase=PASSPHRASE,
                        self_signed=False)  # fmt: skip
        officer_pem = intermediate.issue(kit.officer_csr(ENFORCEMENT_ID, PASSPHRASE))
        # As the agency hands it over: root first, then the officer, then the intermediate.
        kit.import_officer_certificate(
            ENFORCEMENT_ID, root.certificate_pem + officer_pem + intermediate.certificate_pem
        )
        yield Pki(kit, home, root, intermediate, officer_pem)


def _stored_chain(kit: Toolkit) -> tuple[x509.Certificate, ...]:
    with kit.officers._ctx.session() as session:
        chain = require_chain(officer_row(session, ENFORCEMENT_ID))
    return (chain.leaf, *chain.issuers)


def test_the_whole_chain_is_kept_in_order(pki: Pki) -> None:
    leaf, *issuers = _stored_chain(pki.kit)
    assert leaf == x509.load_pem_x509_certificate(pki.officer_pem)
    assert issuers == [pki.intermediate.certificate, pki.root.certificate]
    info = pki.kit.get_officer(ENFORCEMENT_ID)
    assert info.certificate_issuer == pki.intermediate.certificate.subject.rfc4514_string()
    assert not info.self_signed
    # The officer's trust entry is the officer's own certificate, never the CAs above it.
    assert pki.kit.officers.officer_certificates_pem() == leaf.public_bytes(Encoding.PEM)


def test_the_manifest_signature_verifies_against_the_root_alone(pki: Pki, tmp_path: Path) -> None:
    kit = pki.kit
    kit.create_case(CASE, "证书链测试案", exist_ok=True)
    item = seal_synthetic_item(kit, CASE, tmp_path / "work", "chain", officer=ENFORCEMENT_ID)
    signature = kit.sign_item(item.id, ENFORCEMENT_ID, PASSPHRASE)
    manifest = kit.store.read_bytes(kit.get_item(item.id).manifest_sha256 or "")
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "sig.p7s").write_bytes(signature.signature_der)
    # The signature carries the officer's certificate and the intermediate, not the root.
    embedded = openssl("pkcs7", "-inform", "DER", "-in", str(tmp_path / "sig.p7s"),
                       "-print_certs", "-noout")  # fmt: skip
    subjects = [line for line in embedded.splitlines() if line.startswith("subject=")]
    assert len(subjects) == 2, embedded
    # The stored copy of the signer certificate is the officer's own.
    assert x509.load_pem_x509_certificates(signature.certificate_pem) == [
        x509.load_pem_x509_certificate(pki.officer_pem)
    ]

    def cms_verify(ca_file: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [require_tool("openssl"), "cms", "-verify", "-binary", "-inform", "DER",
             "-in", str(tmp_path / "sig.p7s"), "-content", str(tmp_path / "manifest.json"),
             "-CAfile", str(ca_file), "-purpose", "any", "-out", "/dev/null"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    done = cms_verify(pki.root.pem_path)
    assert done.returncode == 0 and "Verification successful" in done.stderr, done.stderr
    assert verify_manifest_signature(manifest, signature.signature_der, [pki.root.certificate])
    other = make_root(tmp_path / "other", "另一机构根CA")
    refused = cms_verify(other.pem_path)
    assert refused.returncode != 0 and "Verification successful" not in refused.stderr
    with pytest.raises(SignatureError) as caught:
        verify_manifest_signature(manifest, signature.signature_der, [other.certificate])
    assert caught.value.failure is SignatureFailure.UNTRUSTED


def test_the_report_signature_validates_against_the_root_alone(pki: Pki, tmp_path: Path) -> None:
    kit = pki.kit
    signer = kit.report_signer(ENFORCEMENT_ID, PASSPHRASE)
    assert signer.chain == (pki.intermediate.certificate,)
    configs = kit.timestamping.tsa_configs()
    signed = sign_pdf(
        render_report(make_input(tmp_path), tmp_path / "report.pdf"),
        tmp_path / "signed.pdf",
        key=signer.key,
        certificate=signer.certificate,
        chain=signer.chain,
        field_name="Officer1",
        signer_label=signer.label,
        timestamper=kit.timestamping.pdf_timestamper(configs),
        tsa_roots=trust_roots_of(configs),
    )
    tsa_roots = x509.load_pem_x509_certificates(trust_roots_of(configs))
    (check,) = validate_pdf_signatures(signed, [pki.root.certificate], tsa_roots=tsa_roots)
    assert check.valid, check
    other = make_root(tmp_path / "other", "另一机构根CA")
    (foreign,) = validate_pdf_signatures(signed, [other.certificate], tsa_roots=tsa_roots)
    assert foreign.intact and not foreign.trusted


def test_import_with_a_separate_chain_file_on_the_command_line(pki: Pki, tmp_path: Path) -> None:
    env = {"EVIDENCE_OFFICER_PASSPHRASE": "second officer passphrase"}
    eid = "11010078"
    csr = tmp_path / "second.csr"
    succeeded(run(pki.home, "officer", "add", "赵六", "--id", eid, "--agency", AGENCY,
                  "--csr", str(csr), env=env))  # fmt: skip
    (tmp_path / "officer.pem").write_bytes(pki.intermediate.issue(csr.read_bytes(), "second"))
    (tmp_path / "chain.pem").write_bytes(pki.intermediate.certificate_pem)
    officer, chain = str(tmp_path / "officer.pem"), str(tmp_path / "chain.pem")
    result = succeeded(run(pki.home, "officer", "import-cert", eid, officer, "--chain", chain))
    fingerprint = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", officer)
    assert fingerprint.strip().split("=", 1)[1] in result.output
    signer = pki.kit.report_signer(eid, "second officer passphrase")
    assert signer.chain == (pki.intermediate.certificate,)


def test_broken_chains_are_refused_and_the_old_certificate_stays(pki: Pki, tmp_path: Path) -> None:
    kit = pki.kit
    before = _stored_chain(kit)
    # Another root's CA under the same name as the intermediate: the name fits, the key not.
    impostor_root = make_root(tmp_path / "impostor-root", "某市执法证书根CA")
    impostor = make_intermediate(impostor_root, tmp_path / "impostor", "某市执法证书签发子CA")
    with pytest.raises(CertificateError, match="is not signed by the key of"):
        kit.import_officer_certificate(ENFORCEMENT_ID, pki.officer_pem + impostor.certificate_pem)
    # A certificate that has nothing to do with this officer's chain.
    with pytest.raises(CertificateError, match="is not in the chain of officer"):
        kit.import_officer_certificate(
            ENFORCEMENT_ID, pki.officer_pem + impostor_root.certificate_pem
        )
    # An "intermediate" that is no CA (cA=FALSE) issued the officer's certificate.
    fake = make_intermediate(pki.root, tmp_path / "fake", "冒充的签发CA", "not_a_ca")
    reissued = fake.issue(kit.officer_csr(ENFORCEMENT_ID, PASSPHRASE))
    with pytest.raises(CertificateError, match="is not a CA"):
        kit.import_officer_certificate(ENFORCEMENT_ID, reissued + fake.certificate_pem)
    assert _stored_chain(kit) == before
