"""One real path from a URL to a verified bundle, and every way to break it.

Real Chromium, the sample site on 127.0.0.1, the openssl-backed development
TSA, a real anvil node and SQLite. The stock tools (sha256sum, openssl dgst
-sm3, openssl ts -verify, cast) are run on the same bundle and must agree
with our verifier.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from evidence import ItemStatus, Settings, Toolkit, Verdict
from evidence.services.demo import DEMO_CASE_NUMBER
from evidence.services.demo_site import DemoSite
from evidence.verification import VerifyOptions
from reports.bundle import layout as bf
from tests.conftest import REPO, require, require_tool
from tests.helpers import TEST_OFFICER_ID, capture_as_officer

pytestmark = pytest.mark.slow

CASE = "测试-2026-E2E"
PASSPHRASE = "e2e test passphrase"


@dataclass(frozen=True)
class Captured:
    kit: Toolkit
    item_id: str
    bundle: Path
    unpacked: Path


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Captured]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    out = tmp_path_factory.mktemp("e2e")
    with Toolkit(session_settings) as kit, DemoSite() as site:
        kit.create_case(
            CASE,
            "某网店销售假冒运动鞋案（测试）",
            cause="涉嫌销售假冒注册商标的商品",
            agency="测试市场监督管理局",
            officers=("张三（执法证号 T-1）",),
            exist_ok=True,
        )
        for name, enforcement_id in (("张三", "T-0001"), ("李四", "T-0002")):
            kit.add_officer(name, enforcement_id, passphrase=PASSPHRASE)
            kit.assign_officer(CASE, enforcement_id)
        item = capture_as_officer(kit, CASE, site.url_for("/old-listing"), officer="T-0001")
        assert item.status is ItemStatus.SEALED
        kit.sign_item(item.id, "T-0001", PASSPHRASE, role="capture")
        kit.sign_item(item.id, "T-0002", PASSPHRASE, role="cosign")
        done = kit.complete(item.id)
        assert done.pending == ()
        assert done.item.status is ItemStatus.ANCHORED
        # This machine checks its own work: its trust configuration says so.
        kit.trust.trust_this_machine()
        bundle = kit.export(
            item.id, out / "bundle.zip", exported_by=kit.report_signer("T-0001", PASSPHRASE)
        )
        unpacked = out / "unpacked"
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(unpacked)
        yield Captured(kit, item.id, bundle, unpacked)


def _tsa_roots(captured: Captured) -> bytes:
    """The development TSA's root: what an expert who trusts that TSA passes."""
    token = captured.kit.get_item(captured.item_id).timestamp
    assert token is not None
    return token.trust_root_pem


def test_the_bundle_verifies(captured: Captured) -> None:
    report = captured.kit.verify(captured.bundle, trust_roots_pem=_tsa_roots(captured))
    assert report.exit_code == 0, [c for c in report.checks if c.verdict is not Verdict.PASS]
    names = {(c.check, c.subject) for c in report.checks}
    for artifact in ("artifacts/screenshot.png", "artifacts/capture.warc", "artifacts/dom.html"):
        assert ("artifact.digest", artifact) in names
    for check in (
        "timestamp.token",
        "anchor.chain",
        "anchor.merkle",
        "time.order",
        "checksums.sha256",
        "checksums.sm3",
    ):
        assert any(c.check == check for c in report.checks), check
    token = next(c for c in report.checks if c.check == "timestamp.token")
    assert "DEVELOPMENT" in token.detail
    # The unpacked folder is the same bundle.
    roots = _tsa_roots(captured)
    assert captured.kit.verify(captured.unpacked, trust_roots_pem=roots).exit_code == 0


def test_item_records_the_whole_path(captured: Captured) -> None:
    item = captured.kit.get_item(captured.item_id)
    assert item.final_url.endswith("/index.html")
    assert item.timestamp is not None and item.timestamp.development
    assert item.anchor is not None and item.anchor.chain_id == 31337
    assert item.anchor.leaf == item.manifest_sha256 and item.anchor.tree_size >= 1
    manifest = json.loads((captured.unpacked / bf.MANIFEST).read_bytes())
    assert manifest["capture"]["redirect_chain"][0].endswith("/old-listing")
    roles = {a["role"] for a in manifest["artifacts"]}
    assert {
        "screenshot",
        "viewport-screenshot",
        "warc",
        "dom",
        "mhtml",
        "print-pdf",
        "environment",
    } <= roles


def test_stock_tools_agree_on_the_good_bundle(captured: Captured) -> None:
    openssl = require_tool("openssl")
    cast = require_tool("cast")
    root = captured.unpacked
    subprocess.run(["sha256sum", "--quiet", "-c", bf.CHECKSUMS], cwd=root, check=True)
    manifest = json.loads((root / bf.MANIFEST).read_bytes())
    for entry in manifest["artifacts"]:
        out = subprocess.run(
            [openssl, "dgst", "-sm3", "-r", entry["path"]],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert out.split()[0] == entry["sm3"]
    ts = _openssl_ts_verify(openssl, root)
    assert ts.returncode == 0 and "Verification: OK" in ts.stdout, ts.stderr
    anchor = json.loads((root / bf.ANCHOR_JSON).read_bytes())
    digest = subprocess.run(
        ["sha256sum", bf.MANIFEST], cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()[0]
    assert anchor["merkle"]["leaf"] == digest
    # The Merkle path from the manifest digest to the anchored root, redone with the
    # printf | sha256sum commands VERIFY.txt gives, each checked against its stated result.
    text = (root / bf.INSTRUCTIONS).read_text(encoding="utf-8")
    # Step 4c, the custody head's path to the same root, follows the item's (4b).
    item_steps, _, custody_steps = text.partition("\n4c.")
    custody_steps = custody_steps.partition("\n5. ")[0]  # the script at the end has printf too
    commands = _printf_commands(item_steps)
    assert len(commands) == 1 + len(anchor["merkle"]["path"])
    # Octal escapes: POSIX printf (dash's) has no \x.
    escaped = "\\000" + "".join(f"\\{int(digest[i : i + 2], 16):03o}" for i in range(0, 64, 2))
    assert escaped in commands[0][0]
    assert anchor["root"] == "0x" + _run_printf_commands(commands)
    custody = _printf_commands(custody_steps)
    assert len(custody) == 1 + len(anchor["custody"]["merkle_path"])
    assert anchor["root"] == "0x" + _run_printf_commands(custody)
    out = subprocess.run(
        [
            cast,
            "call",
            anchor["contract_address"],
            "anchoredAt(bytes32)(uint256)",
            anchor["root"],
            "--rpc-url",
            anchor["rpc_url"],
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert int(out.split()[0]) > 0


def _printf_commands(text: str) -> list[tuple[str, str]]:
    """VERIFY.txt's ``printf … | sha256sum`` lines, each with the result it states."""
    lines = text.splitlines()
    return [
        (line.strip(), lines[n + 1].strip().removeprefix("# = "))
        for n, line in enumerate(lines)
        if line.strip().startswith("printf ")
    ]


def _run_printf_commands(commands: list[tuple[str, str]]) -> str:
    """Run each command, check it prints its stated result; the last result."""
    result = ""
    for command, expected in commands:
        result = subprocess.run(
            ["sh", "-c", command], check=True, capture_output=True, text=True
        ).stdout.split()[0]
        assert result == expected
    return result


def _openssl_ts_verify(openssl: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            openssl,
            "ts",
            "-verify",
            "-data",
            bf.MANIFEST,
            "-in",
            bf.TOKEN,
            "-CAfile",
            bf.TSA_ROOT,
            "-untrusted",
            bf.TSA_CERT,
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    position = len(data) // 2 if offset is None else offset
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_flipped_byte_in_any_file_fails_and_names_it(captured: Captured, tmp_path: Path) -> None:
    files = _all_files(captured.unpacked)
    assert len(files) >= 12
    for name in files:
        copy = tmp_path / name.replace("/", "_")
        shutil.copytree(captured.unpacked, copy)
        _flip(copy / name)
        # Replay is checked elsewhere; every digest check still runs.
        report = captured.kit.verify(copy, options=VerifyOptions(replay=False))
        failing = [
            c for c in report.failures if name in (c.subject, *c.detail.split()) or name in c.detail
        ]
        assert report.exit_code == 1, f"flipping {name} was not detected"
        assert failing, f"flipping {name}: failures {report.failures} do not name it"


def test_a_flipped_byte_inside_the_zip_names_the_member(captured: Captured, tmp_path: Path) -> None:
    with zipfile.ZipFile(captured.bundle) as zf:
        info = zf.getinfo("artifacts/screenshot.png")
    damaged = tmp_path / "damaged.zip"
    shutil.copy(captured.bundle, damaged)
    # Stored (uncompressed) members: the data follows a 30-byte header plus name and extra.
    with damaged.open("r+b") as f:
        f.seek(info.header_offset + 26)
        name_len = int.from_bytes(f.read(2), "little")
        extra_len = int.from_bytes(f.read(2), "little")
    _flip(damaged, info.header_offset + 30 + name_len + extra_len + 1000)
    report = captured.kit.verify(damaged)
    assert report.exit_code == 1
    assert any(c.subject == "artifacts/screenshot.png" for c in report.failures)


def test_openssl_agrees_with_our_token_verdicts(captured: Captured, tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    bad = tmp_path / "bad"
    shutil.copytree(captured.unpacked, bad)
    token = bad / bf.TOKEN
    _flip(token, len(token.read_bytes()) - 20)  # inside the signature
    ours = captured.kit.verify(bad, offline=True)
    assert any(c.check == "timestamp.token" and c.verdict is Verdict.FAIL for c in ours.checks)
    assert _openssl_ts_verify(openssl, bad).returncode != 0
    # A token over another manifest: swap in a manifest with one changed byte.
    other = tmp_path / "other"
    shutil.copytree(captured.unpacked, other)
    manifest = other / bf.MANIFEST
    manifest.write_bytes(manifest.read_bytes().replace(b'"sealed_at":"2', b'"sealed_at":"1'))
    ours = captured.kit.verify(other, offline=True)
    assert any(
        c.check == "timestamp.token" and c.verdict is Verdict.FAIL and "imprint" in c.detail
        for c in ours.checks
    )
    assert _openssl_ts_verify(openssl, other).returncode != 0


def test_offline_verification_reports_the_chain_as_not_checked(captured: Captured) -> None:
    report = captured.kit.verify(captured.bundle, offline=True)
    assert report.exit_code == 2
    assert [c.check for c in report.not_checked] == ["anchor.chain"]


def test_an_unreachable_chain_is_not_checked_rather_than_failed(captured: Captured) -> None:
    report = captured.kit.verify(captured.bundle, rpc_url="http://127.0.0.1:9/")
    assert report.exit_code == 2
    assert not report.failures


def test_a_tsa_outage_leaves_the_item_sealed_and_it_completes_later(
    captured: Captured, session_settings: Settings, tmp_path: Path
) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_bytes(captured.kit.get_item(captured.item_id).timestamp.trust_root_pem)  # type: ignore[union-attr]
    down = replace(session_settings, tsa_url="http://127.0.0.1:9/tsr", tsa_roots_path=roots)
    with Toolkit(down) as kit, DemoSite() as site:
        item = capture_as_officer(kit, CASE, site.url)
        result = kit.complete(item.id)
        assert result.item.status is ItemStatus.SEALED
        assert result.pending and result.pending[0].startswith("timestamp:")
        assert [i.id for i in kit.pending_items()] == [item.id]
    later = captured.kit.complete_pending()
    assert [r.item.status for r in later] == [ItemStatus.ANCHORED]


# --- the command line -----------------------------------------------------


def _cli(home: Path, *args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCE_HOME": str(home), "LANG": lang, "LC_ALL": ""}
    env.pop("EVIDENCE_RPC_URL", None)
    env.pop("EVIDENCE_TSA_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("capture", "NO-SUCH-CASE", "http://127.0.0.1/"), "no case"),
        (("capture", CASE, "ftp://example.com/x"), "scheme"),
        (("capture", CASE, "not a url"), "URL"),
        (("verify", "/nonexistent/bundle.zip"), "no such bundle"),
        (("report", "zzzz", "--out", "/tmp/x.pdf"), "no evidence item"),
    ],
)
def test_bad_input_gives_one_line_and_non_zero(
    captured: Captured, session_settings: Settings, args: tuple[str, ...], expected: str
) -> None:
    line = _one_line_error(_cli(session_settings.home, *args))
    assert expected.lower() in line.lower()


def test_an_unreachable_url_fails_cleanly_and_keeps_the_record(
    captured: Captured, session_settings: Settings
) -> None:
    before = len(captured.kit.list_items())
    officer = ("--officer", TEST_OFFICER_ID)  # on the case since the fixture's capture
    line = _one_line_error(
        _cli(session_settings.home, "capture", CASE, "http://127.0.0.1:9/", *officer)
    )
    assert "127.0.0.1:9" in line
    items = captured.kit.list_items()
    assert len(items) == before + 1
    assert items[-1].status is ItemStatus.FAILED and items[-1].error


def test_a_truncated_bundle_is_a_one_line_error(
    captured: Captured, session_settings: Settings, tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(captured.bundle.read_bytes()[:5000])
    line = _one_line_error(_cli(session_settings.home, "verify", str(truncated)))
    assert "truncated.zip" in line


def test_chinese_locale_gets_chinese_messages(
    captured: Captured, session_settings: Settings
) -> None:
    result = _cli(
        session_settings.home, "capture", "NO-SUCH-CASE", "http://127.0.0.1/", lang="zh_CN.UTF-8"
    )
    assert _one_line_error(result).startswith("错误")


def test_the_demo_command_runs_the_whole_path(tmp_path: Path) -> None:
    """README command (a), on its own fresh data directory."""
    home = tmp_path / "home"
    try:
        result = _cli(home, "demo", "--out", str(tmp_path / "out"), "--json")
        assert result.returncode == 0, result.stderr[-2000:]
        payload = json.loads(result.stdout)
        assert payload["exit_code"] == 0
        assert payload["item"]["status"] == "anchored"
        assert payload["item"]["case_number"] == DEMO_CASE_NUMBER
        assert Path(payload["bundle"]).is_file() and Path(payload["report"]).is_file()
        roots = str(home / "devtsa" / "ca.pem")
        again = _cli(home, "verify", payload["bundle"], "--trust-roots", roots)
        assert again.returncode == 0, again.stdout
    finally:
        from anchoring.anvil import LocalChain

        LocalChain(home).stop()
