"""``demo``, then ``report``, ``export`` and ``verify`` on what it made, in-process.

One real capture for the module: ``evidence demo`` serves the sample shop,
captures it in Chromium, has two officers sign it, timestamps it with the
development TSA, anchors it on anvil, writes report and bundle, and verifies.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from evidence.services.demo import DEMO_CASE_NUMBER, DEMO_OFFICERS, DEMO_PASSPHRASE
from tests.cli_support import (
    CHINESE,
    one_line_error,
    run,
    stop_local_chain,
    succeeded,
    usage_error,
)
from tests.conftest import require, require_tool

PASSPHRASE = {"EVIDENCE_OFFICER_PASSPHRASE": DEMO_PASSPHRASE}
FIRST_OFFICER = DEMO_OFFICERS[0][1]

REASON = ("--reason", "移送鉴定")


@dataclass(frozen=True)
class Demo:
    home: Path
    result: Result
    item_id: str
    bundle: Path
    report: Path


def _labelled(result: Result, label: str) -> str:
    return next(
        line.removeprefix(f"{label}: ")
        for line in result.stdout.splitlines()
        if line.startswith(f"{label}: ")
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("anvil")
    require_tool("openssl")
    home = tmp_path_factory.mktemp("demo-home")
    out = tmp_path_factory.mktemp("demo-out")
    result = run(home, "demo", "--out", str(out), "--lang", "en")
    try:
        yield Demo(
            home,
            result,
            _labelled(result, "Item"),
            Path(_labelled(result, "Bundle")),
            Path(_labelled(result, "Report (PDF)")),
        )
    finally:
        stop_local_chain(home)


def _trusting(demo: Demo) -> tuple[str, str]:
    """``--trust-roots`` naming the demo's own development TSA, as its expert would."""
    return ("--trust-roots", str(demo.home / "devtsa" / "ca.pem"))


def test_demo_runs_the_whole_path(demo: Demo) -> None:
    succeeded(demo.result)
    out = demo.result.stdout
    assert "Status: anchored" in out and "Verification: all checks passed" in out
    assert f"Data directory: {demo.home}" in out
    assert out.rstrip().endswith(
        "NOTE: development TSA and local development chain — not trusted third parties."
    )
    assert demo.bundle.is_file() and demo.report.is_file()


def test_demo_refuses_a_url_it_cannot_capture(demo: Demo, tmp_path: Path) -> None:
    line = one_line_error(run(demo.home, "demo", "--url", "ftp://example.com/", "--out", "x"))
    assert "scheme" in line


def test_report_for_an_item_and_for_a_case(demo: Demo, tmp_path: Path) -> None:
    pdf = tmp_path / "item.pdf"
    made = succeeded(run(demo.home, "report", demo.item_id, "--out", str(pdf), lang=CHINESE))
    assert made.stdout == f"报告（PDF）: {pdf}\n" and pdf.read_bytes().startswith(b"%PDF")
    case_pdf = tmp_path / "case.pdf"
    args = ("report", "--case", DEMO_CASE_NUMBER, "--out", str(case_pdf), "--lang", "en")
    assert succeeded(run(demo.home, *args)).stdout == f"Report (PDF): {case_pdf}\n"


def test_report_errors(demo: Demo, tmp_path: Path) -> None:
    out = str(tmp_path / "x.pdf")
    assert "no evidence item" in one_line_error(run(demo.home, "report", "zzzz", "--out", out))
    assert "ITEM_ID or --case" in usage_error(run(demo.home, "report", "--out", out))
    wrong = {"EVIDENCE_OFFICER_PASSPHRASE": "not it"}
    signed = run(
        demo.home, "report", demo.item_id, "--out", out, "--sign", FIRST_OFFICER, env=wrong
    )
    assert "wrong passphrase" in one_line_error(signed)


def test_export_bundle_signed_case_and_wacz(demo: Demo, tmp_path: Path) -> None:
    bundle = tmp_path / "signed.zip"
    args = ("export", demo.item_id, "--out", str(bundle), "--sign", FIRST_OFFICER, *REASON)
    assert succeeded(run(demo.home, *args, env=PASSPHRASE)).stdout == f"Bundle: {bundle}\n"
    with zipfile.ZipFile(bundle) as zf:
        assert "manifest.json" in zf.namelist()
    case_zip = tmp_path / "case.zip"
    case_args = ("export", "--case", DEMO_CASE_NUMBER, "--out", str(case_zip))
    succeeded(run(demo.home, *case_args, "--sign", FIRST_OFFICER, *REASON, env=PASSPHRASE))
    assert zipfile.is_zipfile(case_zip)
    wacz = tmp_path / "item.wacz"
    wacz_args = ("export", demo.item_id, "--format", "wacz", "--out", str(wacz))
    succeeded(run(demo.home, *wacz_args, "--sign", FIRST_OFFICER, *REASON, env=PASSPHRASE))
    with zipfile.ZipFile(wacz) as zf:
        assert "archive/capture.warc" in zf.namelist()


def test_export_errors(demo: Demo, tmp_path: Path) -> None:
    out = str(tmp_path / "x.zip")
    unknown = ("export", "zzzz", "--out", out, "--sign", FIRST_OFFICER, *REASON)
    assert "no evidence item" in one_line_error(run(demo.home, *unknown, env=PASSPHRASE))
    unsigned = run(demo.home, "export", demo.item_id, "--out", out)
    assert "--sign ENF_ID" in usage_error(unsigned)
    wacz_case = run(
        demo.home, "export", "--case", DEMO_CASE_NUMBER, "--format", "wacz", "--out", out
    )
    assert "--format wacz exports one item" in usage_error(wacz_case)
    for_nobody = run(demo.home, "export", demo.item_id, "--out", out, "--sign", FIRST_OFFICER)
    assert "--reason" in usage_error(for_nobody)


def test_verify_passes_and_writes_its_report(demo: Demo, tmp_path: Path) -> None:
    pdf = tmp_path / "verification.pdf"
    args = ("verify", str(demo.bundle), "--report", str(pdf), "--lang", "en", *_trusting(demo))
    verified = succeeded(run(demo.home, *args))
    lines = verified.stdout.splitlines()
    assert lines[-2:] == ["Verification: all checks passed", f"Report (PDF): {pdf}"]
    assert all(line.startswith("[       PASS] ") for line in lines[:-2])
    assert "screenshot.replay" in verified.stdout
    assert pdf.read_bytes().startswith(b"%PDF")


def test_verify_offline_cannot_check_the_anchor(demo: Demo) -> None:
    args = ("verify", str(demo.bundle), "--offline", "--no-replay", *_trusting(demo))
    data = json.loads(run(demo.home, *args, "--json").stdout)
    assert data["exit_code"] == 2
    assert {c["check"] for c in data["checks"] if c["verdict"] == "NOT CHECKED"} >= {"anchor.chain"}
    result = run(demo.home, *args, lang=CHINESE)
    assert result.exit_code == 2
    assert "[NOT CHECKED] anchor.chain" in result.stdout
    assert result.stdout.splitlines()[-1] == "核验结果：部分项目无法核验"


def test_verify_fails_an_edited_bundle(demo: Demo, tmp_path: Path) -> None:
    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(demo.bundle) as zf:
        zf.extractall(unpacked)
    dom = next(unpacked.rglob("dom.html"))
    dom.write_bytes(dom.read_bytes().replace(b"</body>", b"<p>added</p></body>", 1))
    result = run(demo.home, "verify", str(unpacked), "--offline", "--no-replay", lang=CHINESE)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert any(
        line.startswith("[       FAIL]") and "dom.html" in line
        for line in result.stdout.splitlines()
    )
    assert result.stdout.splitlines()[-1] == "核验结果：未通过"
    shutil.rmtree(unpacked)


def test_verify_errors(demo: Demo, tmp_path: Path) -> None:
    assert "no such bundle" in one_line_error(run(demo.home, "verify", str(tmp_path / "none.zip")))
    bundle = str(demo.bundle)
    missing = str(tmp_path / "missing.pem")
    assert "cannot read" in usage_error(run(demo.home, "verify", bundle, "--trust-roots", missing))
    half = run(demo.home, "verify", bundle, "--sign-key", missing)
    assert "--sign-key and --sign-cert go together" in usage_error(half)
    no_report = run(demo.home, "verify", bundle, "--sign-key", missing, "--sign-cert", missing)
    assert "give --report" in usage_error(no_report)
    no_key = run(demo.home, "verify", bundle, "--tsa-url", "configured")
    assert "give --sign-key" in usage_error(no_key)
