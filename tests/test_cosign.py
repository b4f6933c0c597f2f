"""Two officers are two people: a report is signed by one officer per command, and a
second officer co-signs it afterwards with their own key and passphrase.

One real capture (Chromium, development TSA, anvil); the commands run in-process.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from evidence import CustodyAction, Settings, Toolkit
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.services.demo_site import DemoSite
from reports.signing import validate_pdf_signatures
from tests.cli_support import CHINESE, one_line_error, run, stop_local_chain, succeeded, usage_error
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer, ensure_officer

pytestmark = pytest.mark.slow

CASE = "案-COSIGN-1"
FIRST, SECOND, OUTSIDER = ("张三", "CS-0001"), ("李四", "CS-0002"), ("王五", "CS-0003")
PASSPHRASES = {FIRST[1]: "first's own", SECOND[1]: "second's own", OUTSIDER[1]: "outsider's"}


def passphrase_of(enforcement_id: str) -> dict[str, str | None]:
    return {"EVIDENCE_OFFICER_PASSPHRASE": PASSPHRASES[enforcement_id]}


@dataclass(frozen=True)
class Signed:
    home: Path
    item_id: str
    pdf: Path
    """Signed by FIRST only."""
    certificates: tuple[x509.Certificate, ...]
    """FIRST's, SECOND's, and the development TSA root."""


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("anvil")
    require_tool("openssl")
    home = tmp_path_factory.mktemp("cosign-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    local = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
    with Toolkit(settings) as kit, DemoSite() as site:
        kit.create_case(CASE, "共同签名测试")
        for name, eid in (FIRST, SECOND, OUTSIDER):
            kit.add_officer(name, eid, passphrase=PASSPHRASES[eid])
        for _, eid in (FIRST, SECOND):
            ensure_officer(kit, CASE, eid)
        item = capture_as_officer(kit, CASE, site.url, local, officer=FIRST[1])
        kit.sign_item(item.id, FIRST[1], PASSPHRASES[FIRST[1]], role="capture")
        kit.sign_item(item.id, SECOND[1], PASSPHRASES[SECOND[1]], role="cosign")
        kit.complete(item.id)
        roots = kit.timestamping.tsa_configs()[0].trust_roots_pem
        # The officers' certificates, as their manifest signatures carry them.
        signers = [
            x509.load_pem_x509_certificate(s.certificate_pem) for s in kit.item_signatures(item.id)
        ]
        certificates = (*signers, x509.load_pem_x509_certificate(roots))
    pdf = home / "report.pdf"
    args = ("report", item.id, "--out", str(pdf), "--sign", FIRST[1], "--reason", "出具报告")
    succeeded(run(home, *args, env=passphrase_of(FIRST[1])))
    try:
        yield Signed(home, item.id, pdf, certificates)
    finally:
        stop_local_chain(home)


def _kit(home: Path) -> Toolkit:
    return Toolkit(Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}"))


def test_one_command_signs_as_one_officer(signed: Signed, tmp_path: Path) -> None:
    out = str(tmp_path / "two.pdf")
    both = ("--sign", FIRST[1], "--sign", SECOND[1])
    assert "cosign-report" in usage_error(
        run(signed.home, "report", signed.item_id, "--out", out, *both)
    )
    export = ("export", signed.item_id, "--out", str(tmp_path / "b.zip"), *both, "--reason", "x")
    assert "one officer" in usage_error(run(signed.home, *export))
    assert not (tmp_path / "two.pdf").exists() and not (tmp_path / "b.zip").exists()


def test_a_second_officer_cosigns_with_their_own_key(signed: Signed, tmp_path: Path) -> None:
    pdf = shutil.copyfile(signed.pdf, tmp_path / "report.pdf")
    before = hashlib.sha256(pdf.read_bytes()).hexdigest()
    args = ("cosign-report", str(pdf), "--officer", SECOND[1], "--reason", "复核后共同签名")
    # The first officer's passphrase does not open the second officer's key.
    wrong = run(signed.home, *args, env=passphrase_of(FIRST[1]))
    assert "wrong passphrase for officer CS-0002" in one_line_error(wrong)
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == before  # untouched
    succeeded(run(signed.home, *args, env=passphrase_of(SECOND[1])))
    first, second = validate_pdf_signatures(pdf, list(signed.certificates))
    assert (first.field, second.field) == ("Officer1", "Officer2")
    assert first.valid and second.valid and second.covers_whole_file
    assert "张三" in first.signer_subject and "李四" in second.signer_subject
    # The earlier signature is kept intact: the co-signature is an incremental update.
    assert pdf.read_bytes().startswith(signed.pdf.read_bytes())
    with _kit(signed.home) as kit:
        last = kit.custody_lines(signed.item_id)[-1]
    assert last.action == CustodyAction.SIGN.value
    assert last.actor == "李四（CS-0002）" and last.reason == "复核后共同签名"
    assert last.hash_after == hashlib.sha256(pdf.read_bytes()).hexdigest()
    pdfsig = shutil.which("pdfsig")
    if pdfsig is not None:
        shown = subprocess.run([pdfsig, str(pdf)], capture_output=True, text=True).stdout
        assert shown.count("Signature is Valid.") == 2, shown


def test_cosigning_is_refused_to_the_same_officer_outsiders_and_unsigned_files(
    signed: Signed, tmp_path: Path
) -> None:
    pdf = shutil.copyfile(signed.pdf, tmp_path / "report.pdf")
    again = run(
        signed.home, "cosign-report", str(pdf), "--officer", FIRST[1], env=passphrase_of(FIRST[1])
    )
    assert "has signed report.pdf already" in one_line_error(again)
    outsider = run(
        signed.home, "cosign-report", str(pdf), "--officer", OUTSIDER[1],
        env=passphrase_of(OUTSIDER[1]),
    )  # fmt: skip
    assert "not on case" in one_line_error(outsider)
    unsigned = tmp_path / "unsigned.pdf"
    succeeded(
        run(signed.home, "report", signed.item_id, "--out", str(unsigned), "--officer", FIRST[1])
    )
    first_step = run(
        signed.home, "cosign-report", str(unsigned), "--officer", SECOND[1],
        env=passphrase_of(SECOND[1]),
    )  # fmt: skip
    assert "carries no signature yet" in one_line_error(first_step)
    not_a_report = tmp_path / "other.pdf"
    not_a_report.write_bytes(b"%PDF-1.7\n%%EOF\n")
    foreign = run(
        signed.home, "cosign-report", str(not_a_report), "--officer", SECOND[1],
        env=passphrase_of(SECOND[1]),
    )  # fmt: skip
    assert one_line_error(foreign)
    assert pdf.read_bytes() == signed.pdf.read_bytes()


def test_the_report_shows_when_each_officer_signed(signed: Signed) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(signed.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    with _kit(signed.home) as kit:
        signatures = kit.item_signatures(signed.item_id)
    assert "执法人员对证据清单（manifest）的签名及各自的签名时间" in text
    assert "取证签名" in text and "共同签名" in text
    for signature in signatures:
        local = signature.signed_at.astimezone().strftime("%Y-%m-%d")
        assert local in text
        assert f"{signature.officer_name}（{signature.enforcement_id}）" in text
    english = signed.pdf.with_name("english.pdf")
    succeeded(
        run(signed.home, "report", signed.item_id, "--out", str(english), "--lang", "en",
            "--officer", FIRST[1], lang=CHINESE)
    )  # fmt: skip
    text_en = subprocess.run(
        ["pdftotext", "-layout", str(english), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Officers' signatures over the manifest, each with its time" in text_en
    assert "Capture signature" in text_en and "Co-signature" in text_en
