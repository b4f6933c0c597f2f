"""The case summary PDF and the case bundle, from real captures of the bundled demo site.

Two items are captured in a real Chromium; only the first is timestamped and
anchored, so the case shows one complete item and one pending item.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path

import pytest

from evidence import ItemStatus, Settings, Toolkit
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.model.errors import NotFoundError
from evidence.services.demo_site import DemoSite
from reports.bundle import layout as bf
from reports.case_report import CaseReportInput, CaseReportItem, render_case_report
from reports.pdfa import pdfa_identification
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer, ensure_officer
from tests.test_report_pdf import GENERATED, _hex, make_input, pdf_text, squeezed
from tests.test_verify_checks import exporting_officer

pytestmark = pytest.mark.slow

CASE = "测试-2026-CASE"


@dataclass(frozen=True)
class CaseFixture:
    kit: Toolkit
    done_id: str
    pending_id: str
    out: Path


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseFixture]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    home = tmp_path_factory.mktemp("case-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    options = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
    with Toolkit(settings) as kit, DemoSite() as site:
        kit.create_case(
            CASE,
            "某网店销售假冒运动鞋案（测试）",
            cause="涉嫌销售假冒注册商标的商品",
            agency="测试市场监督管理局",
            officers=("张三（执法证号 T-1）", "李四（执法证号 T-2）"),
        )
        done = capture_as_officer(kit, CASE, site.url_for("/"), options)
        pending = capture_as_officer(kit, CASE, site.url_for("/old-listing"), options)
        assert kit.complete(done.id).pending == ()
        try:
            yield CaseFixture(kit, done.id, pending.id, tmp_path_factory.mktemp("case-out"))
        finally:
            from anchoring.anvil import LocalChain

            LocalChain(home).stop()


def test_case_report_lists_every_value(case: CaseFixture) -> None:
    require_tool("pdftotext")
    pdf = case.kit.case_report(CASE, case.out / "case.pdf")
    flat = squeezed(pdf_text(pdf))
    done = case.kit.get_item(case.done_id)
    pending = case.kit.get_item(case.pending_id)
    assert done.status is ItemStatus.ANCHORED and pending.status is ItemStatus.SEALED
    assert done.timestamp is not None and done.anchor is not None
    for value in (
        CASE,
        done.id,
        pending.id,
        done.manifest_sha256,
        done.manifest_sm3,
        pending.manifest_sha256,
        pending.manifest_sm3,
        done.anchor.transaction_hash,
        done.anchor.root,
        done.timestamp.gen_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    ):
        assert value is not None and squeezed(value) in flat, value
    # The pending item's row says pending; nothing is filled in for it.
    tail = flat[flat.index(squeezed(pending.id)) :]
    assert "尚未取得时间戳（待补）" in tail and "尚未上链（待补）" in tail
    assert "证据项数量2" in flat
    assert pdfa_identification(pdf) == ("2", "B")


def test_case_report_in_english(case: CaseFixture) -> None:
    require_tool("pdftotext")
    pdf = case.kit.case_report(CASE, case.out / "case-en.pdf", language="en")
    flat = squeezed(pdf_text(pdf))
    assert "CaseEvidenceSummary" in flat
    assert "notime-stampyet(pending)" in flat


def test_case_report_of_unknown_case(case: CaseFixture) -> None:
    with pytest.raises(NotFoundError, match="no case numbered"):
        case.kit.case_report("no-such-case", case.out / "x.pdf")
    assert not (case.out / "x.pdf").exists()


def test_case_bundle_layout_and_sums(case: CaseFixture) -> None:
    require_tool("sha256sum")
    bundle = case.kit.export_case(
        CASE, case.out / "case.zip", exported_by=exporting_officer(case.kit)
    )
    unpacked = case.out / "case-unpacked"
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        zf.extractall(unpacked)
    assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)
    for item_id in (case.done_id, case.pending_id):
        prefix = f"{bf.CASE_ITEMS_DIR}/{item_id}/"
        for member in (bf.MANIFEST, bf.REPORT, bf.INSTRUCTIONS, bf.README, bf.CHECKSUMS):
            assert prefix + member in names, member
    assert f"{bf.CASE_ITEMS_DIR}/{case.done_id}/{bf.ANCHOR_JSON}" in names
    assert f"{bf.CASE_ITEMS_DIR}/{case.pending_id}/{bf.ANCHOR_JSON}" not in names
    # Every file of the zip is in the case-level sums, and they all match.
    listed = {line.split("  ", 1)[1] for line in (unpacked / bf.CHECKSUMS).read_text().splitlines()}
    assert listed == set(names) - {bf.CHECKSUMS, bf.SM3_CHECKSUMS}
    subprocess.run(["sha256sum", "--quiet", "-c", bf.CHECKSUMS], cwd=unpacked, check=True)
    # Each item folder is a bundle of its own.
    item_dir = unpacked / bf.CASE_ITEMS_DIR / case.done_id
    subprocess.run(["sha256sum", "--quiet", "-c", bf.CHECKSUMS], cwd=item_dir, check=True)
    result = case.kit.verify(item_dir)
    assert not result.failures, result.failures
    readme = (unpacked / bf.README).read_text(encoding="utf-8")
    assert CASE in readme and case.done_id in readme and "案件证据包说明" in readme


def test_case_bundle_damage_is_named(case: CaseFixture) -> None:
    require_tool("sha256sum")
    bundle = case.kit.export_case(
        CASE, case.out / "case2.zip", exported_by=exporting_officer(case.kit)
    )
    unpacked = case.out / "case2-unpacked"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(unpacked)
    victim = f"{bf.CASE_ITEMS_DIR}/{case.pending_id}/{bf.REPORT}"
    with (unpacked / victim).open("r+b") as stream:
        stream.seek(100)
        byte = stream.read(1)
        stream.seek(100)
        stream.write(bytes([byte[0] ^ 1]))
    run = subprocess.run(
        ["sha256sum", "--quiet", "-c", bf.CHECKSUMS],
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert f"{victim}: FAILED" in run.stdout


def test_item_bundle_has_readme_and_custody(case: CaseFixture) -> None:
    custody = b'{"seq":1,"action":"capture"}\n'
    bundle = case.kit.export(
        case.done_id,
        case.out / "item.zip",
        custody_jsonl=custody,
        exported_by=exporting_officer(case.kit),
    )
    with zipfile.ZipFile(bundle) as zf:
        assert zf.read(bf.CUSTODY_LOG) == custody
        readme = zf.read(bf.README).decode("utf-8")
        sums = zf.read(bf.CHECKSUMS).decode()
    assert "电子证据包说明" in readme and "About this evidence bundle" in readme
    assert bf.CUSTODY_LOG in readme
    assert f"  {bf.README}\n" in sums and f"  {bf.CUSTODY_LOG}\n" in sums


def test_case_report_100_items_renders(tmp_path: Path) -> None:
    # Layout only (no browser): a long case paginates, states each item, and is reproducible.
    data = synthetic_case(tmp_path, 100)
    pdf = render_case_report(data, tmp_path / "big.pdf")
    again = render_case_report(replace(data), tmp_path / "big2.pdf")
    assert again.read_bytes() == pdf.read_bytes()
    if shutil.which("pdftotext"):
        flat = squeezed(pdf_text(pdf))
        assert all(item.item_id in flat for item in data.items)
        assert flat.count("尚未上链（待补）") == sum(1 for i in data.items if i.anchor is None)


def synthetic_case(tmp_path: Path, count: int) -> CaseReportInput:
    """A case of ``count`` items cycling through anchored, timestamped and sealed."""
    base = make_input(tmp_path, screenshot_height=900)
    items = []
    for index in range(count):
        status = ("anchored", "timestamped", "sealed")[index % 3]
        items.append(
            CaseReportItem(
                item_id=f"item-{index:04d}-{base.item_id}",
                status=status,
                requested_url=f"https://shop.example.test/item/{index}",
                page_title="某品牌运动鞋 限时特价",
                sealed_at=GENERATED,
                manifest_sha256=_hex(f"manifest-{index}"),
                manifest_sm3=_hex(f"sm3-{index}"),
                timestamp=base.timestamp if status != "sealed" else None,
                anchor=base.anchor if status == "anchored" else None,
            )
        )
    return CaseReportInput(
        case_number=base.case_number,
        case_title=base.case_title,
        case_cause=base.case_cause,
        agency=base.agency,
        officers=base.officers,
        generated_at=GENERATED,
        tool_version="0.1.0",
        items=tuple(items),
    )


def test_facade_report_signed_by_two_officers(case: CaseFixture) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from evidence.model.records import ReportSigner
    from reports.signing import validate_pdf_signatures
    from tests.test_report_signing import _certificate

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Officer CA", ca_key.public_key(), "Officer CA", ca_key, ca=True)
    signers = []
    for eid, label in (("T-1", "张三（执法证号 T-1）"), ("T-2", "李四（执法证号 T-2）")):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(label, key.public_key(), "Officer CA", ca_key, ca=False)
        signers.append(
            ReportSigner(key=key, certificate=cert, chain=(ca,), label=label, enforcement_id=eid)
        )
    # The co-signer is an officer of the case, and signs in a step of their own.
    ensure_officer(case.kit, CASE, "T-1", "张三")
    ensure_officer(case.kit, CASE, "T-2", "李四")
    pdf = case.kit.report(case.done_id, case.out / "signed.pdf", sign_with=signers[0])
    case.kit.cosign_report(pdf, signers[1])
    tsa_roots = case.kit.timestamping.tsa_configs()[0].trust_roots_pem
    tsa_root = x509.load_pem_x509_certificate(tsa_roots)
    first, second = validate_pdf_signatures(pdf, [ca, tsa_root])
    assert (first.field, second.field) == ("Officer1", "Officer2")
    assert first.valid and second.valid and second.covers_whole_file
    assert "张三" in first.signer_subject and "李四" in second.signer_subject
    assert pdfa_identification(pdf) == ("2", "B")
