"""Every signer is named by the certificate fingerprint and issuer that openssl prints.

One real item (DemoSite, Chromium, the development TSA, anvil) captured and
signed by two officers whose certificates an agency's intermediate CA issued
(real ``openssl ca``: root → intermediate → officers, tests/agency_pki.py),
co-signed, exported with a signed report and a signed index. Then:

- ``signers.txt`` lists the capture signature, the co-signature, the report's
  PAdES signature and the index signature, each with the fingerprint and
  issuer that openssl prints for the certificate taken out of that very
  signature (``openssl cms -signer``; ``pdfsig -dump`` for the report);
- the report's text (pdftotext) carries each manifest signer's fingerprint
  and issuer in the same form;
- ``evidence verify`` with only the agency ROOT trusted passes every
  signature (the intermediates travel inside them) and prints the colon form;
- an edited ``signers.txt`` fails verification, naming the file, even when
  the forger rewrites the sums.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence import Settings, Toolkit, Verdict
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.services.demo_site import DemoSite
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from tests.agency_pki import AGENCY, make_intermediate, make_root, openssl
from tests.cli_support import fresh_home, run
from tests.conftest import require, require_tool
from tests.test_verify_checks import copy_of, rewrite_sums

CASE = "测试-2026-FINGERPRINTS"
PASSPHRASE = "fingerprint test passphrase"
CAPTURING = ("张三", "11010091")
COSIGNING = ("李四", "11010092")


@dataclass(frozen=True)
class Signed:
    home: Path
    unpacked: Path
    bundle: Path
    root_pem: Path
    tsa_roots_pem: Path
    scratch: Path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    require_tool("pdftotext")
    require_tool("pdfsig")
    out = tmp_path_factory.mktemp("fingerprints")
    root = make_root(out / "root", "某市执法证书根CA")
    intermediate = make_intermediate(root, out / "sub", "某市执法证书签发子CA")
    for home in fresh_home(tmp_path_factory):
        settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
        with Toolkit(settings) as kit, DemoSite() as site:
            kit.create_case(CASE, "签名人指纹测试案", exist_ok=True)
            for name, eid in (CAPTURING, COSIGNING):
                kit.add_officer(name, eid, agency=AGENCY, passphrase=PASSPHRASE, self_signed=False)
                issued = intermediate.issue(kit.officer_csr(eid, PASSPHRASE), f"officer-{eid}")
                kit.import_officer_certificate(eid, issued + intermediate.certificate_pem)
                kit.assign_officer(CASE, eid)
            local = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
            item = kit.capture(CASE, site.url_for("/old-listing"), local, officer=CAPTURING[1])
            kit.sign_item(item.id, CAPTURING[1], PASSPHRASE, role="capture")
            kit.sign_item(item.id, COSIGNING[1], PASSPHRASE, role="cosign")
            kit.complete(item.id)
            signer = kit.report_signer(CAPTURING[1], PASSPHRASE)
            bundle = kit.export(item.id, out / "bundle.zip", sign_with=signer, reason="测试")
            token = kit.get_item(item.id).timestamp
            assert token is not None
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(out / "unpacked")
        (out / "tsa-roots.pem").write_bytes(token.trust_root_pem)
        scratch = out / "scratch"
        scratch.mkdir()
        yield Signed(home, out / "unpacked", bundle, root.pem_path, out / "tsa-roots.pem", scratch)


def _openssl_forms(certificate_pem: Path) -> tuple[str, str]:
    """(fingerprint, issuer) exactly as openssl prints them, without the ``name=`` prefix."""
    fingerprint = openssl("x509", "-in", str(certificate_pem), "-noout", "-fingerprint", "-sha256")
    issuer = openssl("x509", "-in", str(certificate_pem), "-noout", "-issuer",
                     "-nameopt", "oneline,-esc_msb")  # fmt: skip
    return fingerprint.strip().split("=", 1)[1], issuer.strip().split("=", 1)[1].strip()


def _cms_signer(signed: Signed, p7s: str, content: str) -> tuple[str, str]:
    """The signer certificate taken out of a CMS signature by openssl, in openssl's forms."""
    out = signed.scratch / (p7s.replace("/", "_") + ".pem")
    done = subprocess.run(
        [require_tool("openssl"), "cms", "-verify", "-noverify", "-binary", "-inform", "DER",
         "-in", p7s, "-content", content, "-signer", str(out), "-out", "/dev/null"],
        cwd=signed.unpacked, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return _openssl_forms(out)


def _report_signer(signed: Signed) -> tuple[str, str]:
    """The report's first PAdES signer, as signers.txt says to print it (pdfsig -dump)."""
    dump = signed.scratch / "pdfsig"
    dump.mkdir(exist_ok=True)
    # pdfsig writes report.pdf.sig0 into its working directory, never into the bundle.
    subprocess.run([require_tool("pdfsig"), "-dump", str(signed.unpacked / bf.REPORT)],
                   cwd=dump, capture_output=True, timeout=60, check=False)  # fmt: skip
    certs = openssl("pkcs7", "-inform", "DER", "-in", str(dump / "report.pdf.sig0"),
                    "-print_certs")  # fmt: skip
    first = certs[: certs.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    (dump / "signer.pem").write_text(first[first.index("-----BEGIN") :] + "\n")
    return _openssl_forms(dump / "signer.pem")


def _blocks(signed: Signed) -> list[str]:
    text = (signed.unpacked / bf.SIGNERS).read_text(encoding="utf-8")
    return [block for block in text.split("\n\n") if block.startswith("[")]


def test_signers_txt_names_every_signature_as_openssl_prints_its_certificate(
    signed: Signed,
) -> None:
    capture, cosign = (s for s, _pem in map(bf.signature_members, _stems(signed)))
    expected = [
        (capture, CAPTURING, _cms_signer(signed, capture, bf.MANIFEST)),
        (cosign, COSIGNING, _cms_signer(signed, cosign, bf.MANIFEST)),
        (bf.REPORT, CAPTURING, _report_signer(signed)),
        (bf.SIGNED_INDEX_SIGNATURE, CAPTURING,
         _cms_signer(signed, bf.SIGNED_INDEX_SIGNATURE, bf.SIGNED_INDEX)),
    ]  # fmt: skip
    blocks = _blocks(signed)
    assert len(blocks) == len(expected), blocks
    for block, (where, (name, eid), (fingerprint, issuer)) in zip(blocks, expected, strict=True):
        assert f"Signature: {where}" in block
        assert f"Name: {name}" in block and f"Enforcement ID: {eid}" in block
        assert f"\n    sha256 Fingerprint={fingerprint}\n" in block
        assert f"\n    issuer={issuer}\n" in block
        assert "签发子CA" in issuer  # the intermediate issued them, not the root
    # The two officers hold two certificates.
    assert expected[0][2][0] != expected[1][2][0]
    # Each role is named; the index's signing time is the export's.
    assert "capture signature" in blocks[0] and "co-signature" in blocks[1]
    assert "report signature" in blocks[2] and "bundle index signature" in blocks[3]
    assert "at export" in blocks[3]


def test_signers_txt_is_sealed_and_verify_txt_refers_to_it(signed: Signed) -> None:
    index = bf.parse_index((signed.unpacked / bf.SIGNED_INDEX).read_bytes())
    assert bf.SIGNERS in index
    sums = (signed.unpacked / bf.CHECKSUMS).read_text(encoding="utf-8")
    assert f"  {bf.SIGNERS}\n" in sums
    guide = (signed.unpacked / bf.INSTRUCTIONS).read_text(encoding="utf-8")
    assert bf.SIGNERS in guide
    assert "openssl x509 -in" in guide and "-noout -fingerprint -sha256" in guide


def test_the_report_text_carries_each_signers_fingerprint_and_issuer(signed: Signed) -> None:
    text = subprocess.run(
        [require_tool("pdftotext"), "-layout", str(signed.unpacked / bf.REPORT), "-"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    for stem in _stems(signed):
        p7s, _pem = bf.signature_members(stem)
        fingerprint, issuer = _cms_signer(signed, p7s, bf.MANIFEST)
        assert fingerprint in text, fingerprint
        assert issuer in " ".join(text.split()), issuer


def test_verify_with_only_the_agency_root_passes_and_prints_the_colon_form(
    signed: Signed,
) -> None:
    result = run(
        signed.home, "verify", str(signed.bundle), "--offline", "--no-replay",
        "--signer-roots", str(signed.root_pem), "--trust-roots", str(signed.tsa_roots_pem),
    )  # fmt: skip
    lines = result.output.splitlines()
    checks = ("manifest.signature", "index.signature", "report.signature")
    # "[   VERDICT] check-id  subject: detail"
    signatures = [
        line
        for line in lines
        if line.startswith("[") and line.split("]", 1)[1].split()[0] in checks
    ]
    assert len(signatures) == 4, result.output
    assert all(line.startswith("[       PASS]") for line in signatures), result.output
    capture, _cosign = (s for s, _pem in map(bf.signature_members, _stems(signed)))
    fingerprint, _issuer = _cms_signer(signed, capture, bf.MANIFEST)
    hex_form = fingerprint.replace(":", "").lower()
    assert f"{hex_form} (sha256 Fingerprint={fingerprint})" in result.output


def test_an_edited_signers_txt_fails_naming_it(signed: Signed, tmp_path: Path) -> None:
    root = copy_of(signed.unpacked, tmp_path / "forged")
    path = root / bf.SIGNERS
    text = path.read_text(encoding="utf-8")
    # A forger puts another fingerprint in front of the court.
    line = next(li for li in text.splitlines() if li.startswith("    sha256 Fingerprint="))
    forged = line[:-2] + ("00" if not line.endswith("00") else "11")
    path.write_text(text.replace(line, forged), encoding="utf-8")
    options = VerifyOptions(offline=True, replay=False)
    for rewrite in (False, True):
        if rewrite:
            rewrite_sums(root)  # as a forger would: the signed index still binds it
        report = run_verification(root, options).report
        named = [c for c in report.failures if c.subject == bf.SIGNERS]
        assert named, [(c.check, c.subject) for c in report.failures]
        assert all(c.verdict is Verdict.FAIL for c in named)


def _stems(signed: Signed) -> list[str]:
    names = [p.relative_to(signed.unpacked).as_posix() for p in signed.unpacked.rglob("*")]
    stems = bf.signature_names_in(names)
    assert len(stems) == 2, stems
    return stems


def test_the_case_report_names_each_signer_as_openssl_does(signed: Signed) -> None:
    out = signed.scratch / "case.pdf"
    result = run(signed.home, "report", "--case", CASE, "--out", str(out), "--lang", "en",
                 "--officer", CAPTURING[1], "--reason", "test")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = subprocess.run(
        [require_tool("pdftotext"), "-layout", str(out), "-"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    for stem, (name, eid) in zip(_stems(signed), (CAPTURING, COSIGNING), strict=True):
        p7s, _pem = bf.signature_members(stem)
        fingerprint, issuer = _cms_signer(signed, p7s, bf.MANIFEST)
        assert fingerprint in text, fingerprint  # on one line, as openssl prints it
        assert issuer in " ".join(text.split()), issuer
        assert f"{name}（{eid}）" in text
