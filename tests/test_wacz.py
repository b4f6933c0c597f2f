"""WACZ export of a real capture, checked by the web-archiving world's own tools.

``wacz validate`` and pywb come from the separate interoperability venv
(``scripts/setup-interop.sh``); they are run as an outsider would run them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence import Settings, Toolkit
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.model.errors import ReportError
from evidence.services.demo_site import DemoSite
from reports.bundle.wacz import WaczInput, write_wacz
from tests.conftest import REPO, require
from tests.helpers import capture_as_officer
from tests.test_verify_checks import EXPORT_OFFICER, EXPORT_PASSPHRASE, exporting_officer

pytestmark = pytest.mark.slow

INTEROP = REPO / ".venv-interop" / "bin"
CASE = "测试-2026-WACZ"


def interop_tool(name: str) -> Path:
    path = INTEROP / name
    require(path.exists(), f"{name} missing: run scripts/setup-interop.sh")
    return path


@dataclass(frozen=True)
class Exported:
    home: Path
    item_id: str
    url: str
    wacz: Path
    manifest: dict[str, object]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    home = tmp_path_factory.mktemp("wacz-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit, DemoSite() as site:
        kit.create_case(CASE, "WACZ 测试")
        url = site.url_for("/")
        item = capture_as_officer(
            kit, CASE, url, CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
        )
        wacz = kit.export_wacz(item.id, home / "item.wacz", exported_by=exporting_officer(kit))
        assert item.manifest_sha256 is not None
        manifest = json.loads(kit.store.read_bytes(item.manifest_sha256))
        yield Exported(home, item.id, url, wacz, manifest)


def test_wacz_validate_accepts_it(exported: Exported) -> None:
    run = subprocess.run(
        [str(interop_tool("wacz")), "validate", "-f", str(exported.wacz)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Validation succeeded" in run.stdout


def test_layout_hashes_and_ties_to_manifest(exported: Exported) -> None:
    with zipfile.ZipFile(exported.wacz) as zf:
        names = set(zf.namelist())
        package = json.loads(zf.read("datapackage.json"))
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(zf.read("datapackage.json")).hexdigest()
        for resource in package["resources"]:
            data = zf.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()]
        index = zf.read("indexes/index.cdx").decode().splitlines()
    assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl"} <= names
    assert "indexes/index.cdx" in names and "archive/capture.warc" in names
    assert pages[0]["format"] == "json-pages-1.0"
    assert pages[1]["url"] == exported.url and pages[1]["id"] == exported.item_id
    assert any(f'"url": "{exported.url}"' in line for line in index)
    assert index == sorted(index)
    # The WARC is the sealed exhibit, byte for byte.
    sealed = {a["path"]: a["sha256"] for a in exported.manifest["artifacts"]}  # type: ignore[attr-defined]
    warc = next(r for r in package["resources"] if r["path"] == "archive/capture.warc")
    assert warc["hash"] == "sha256:" + sealed["artifacts/capture.warc"]
    assert package["evidenceManifestSha256"]
    # The evidence bundle travels inside, and it is the bundle of the same sealed manifest.
    with zipfile.ZipFile(exported.wacz) as zf:
        nested, warc = zf.read("evidence/bundle.zip"), zf.read("archive/capture.warc")
    with zipfile.ZipFile(io.BytesIO(nested)) as bundle:
        manifest_bytes = bundle.read("manifest.json")
        assert bundle.read("artifacts/capture.warc") == warc
    assert hashlib.sha256(manifest_bytes).hexdigest() == package["evidenceManifestSha256"]


def test_tampered_wacz_is_rejected(exported: Exported, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wacz"
    with zipfile.ZipFile(exported.wacz) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "pages/pages.jsonl":
                data = data.replace(b"json-pages-1.0", b"json-pages-1.1")
            dst.writestr(info, data)
    run = subprocess.run(
        [str(interop_tool("wacz")), "validate", "-f", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert "Validation failed" in run.stdout
    assert "pages.jsonl" in run.stdout  # frictionless names the resource whose hash differs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_pywb_replays_the_page(exported: Exported, tmp_path: Path) -> None:
    wb_manager, wayback = interop_tool("wb-manager"), interop_tool("wayback")
    subprocess.run([str(wb_manager), "init", "ev"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(
        [str(wb_manager), "add", "--unpack-wacz", "ev", str(exported.wacz)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [str(wayback), "-p", str(port), "-b", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The demo site is gone by now: only the archive can answer.
        replay = f"http://127.0.0.1:{port}/ev/2026mp_/{exported.url}"
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(replay, timeout=5) as response:
                    body = response.read()
                break
            except OSError:
                time.sleep(0.3)
        assert "限时特价".encode() in body, body[:300]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_cli_export_format_wacz(exported: Exported, tmp_path: Path) -> None:
    out = tmp_path / "cli.wacz"
    env = {
        **os.environ,
        "EVIDENCE_HOME": str(exported.home),
        "EVIDENCE_OFFICER_PASSPHRASE": EXPORT_PASSPHRASE,
    }
    env.pop("EVIDENCE_DATABASE_URL", None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "export",
            exported.item_id,
            "--format",
            "wacz",
            "--out",
            str(out),
            "--sign",
            EXPORT_OFFICER[1],
            "--reason",
            "replay check",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(out) as zf:
        assert "archive/capture.warc" in zf.namelist()


def test_no_warc_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="at least one WARC"):
        write_wacz(
            WaczInput("t", "d", datetime.now(UTC), "x", warcs=(), pages=()), tmp_path / "x.wacz"
        )
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"not a warc at all\r\n")
    with pytest.raises(ReportError, match=r"junk\.warc"):
        write_wacz(
            WaczInput("t", "d", datetime.now(UTC), "x", warcs=(("junk.warc", junk),), pages=()),
            tmp_path / "y.wacz",
        )
    assert not list(tmp_path.glob("*.wacz"))
