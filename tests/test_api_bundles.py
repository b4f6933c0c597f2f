"""Reports, bundles and verification through the HTTP API, for a real completed item.

The item is sealed without a browser (tests/helpers.py), then timestamped by the
development TSA and anchored on the data directory's anvil, as ``evidence`` does.
The API runs as a uvicorn subprocess on a free loopback port.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from evidence.model.config import Settings
from evidence.services.results import ItemInfo
from evidence.services.toolkit import Toolkit
from tests.conftest import require_tool
from tests.helpers import TEST_OFFICER_ID, TEST_PASSPHRASE, ensure_officer, seal_synthetic_item
from tests.test_api import free_port, wait_for_api

ROOT = Path(__file__).resolve().parent.parent
AGENCY = "东城市场监管局"
CASE = "R-2026-001"
PASSWORD = "correct-horse-battery"
MAX_UPLOAD = 4 * 1024 * 1024
SYNTHETIC_GAPS = frozenset({"warc.record", "screenshot.replay", "manifest.signature"})
"""What a synthetic item (no WARC, no capture signature) leaves not checked."""
OFFLINE_GAPS = frozenset({"anchor.chain", "time.anchor", "time.order"})
"""What needs the chain, which the service's verification never asks."""


@dataclass
class Api:
    url: str
    kit: Toolkit
    home: Path
    item_id: str

    def login(self, name: str) -> str:
        r = httpx.post(
            f"{self.url}/api/v1/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def call(self, method: str, path: str, token: str, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def _seal_with_real_screenshot(kit: Toolkit, work: Path) -> ItemInfo:
    """A synthetic item whose screenshot is a real PNG (the report draws it)."""
    from PIL import Image

    real = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 30, 30)).save(real, format="PNG")
    original = Path.write_bytes

    def write(path: Path, data: bytes) -> int:
        if path.name == "screenshot.png":
            data = real.getvalue()
        return original(path, data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "write_bytes", write)
        return seal_synthetic_item(kit, CASE, work, "r")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    require_tool("anvil")
    require_tool("openssl")
    home = tmp_path_factory.mktemp("api-bundles")
    kit = Toolkit(Settings.from_env(str(home)))
    kit.create_case(CASE, "报告与证据包", agency=AGENCY)
    ensure_officer(kit, CASE)
    item = _seal_with_real_screenshot(kit, home / "work")
    kit.complete(item.id)
    kit.identity.add_user("alice", "officer", AGENCY, password=PASSWORD,
                          enforcement_id=TEST_OFFICER_ID)  # fmt: skip
    kit.identity.add_user("bob", "supervisor", AGENCY, password=PASSWORD)
    kit.identity.add_user("eve", "expert", AGENCY, password=PASSWORD)
    # Verifiers here (the service, the expert's CLI) trust this machine's TSA, officers
    # and chain, as its operator would have set up.
    trusted = subprocess.run(
        [sys.executable, "-m", "cli", "trust", "add", "this-machine"],
        cwd=ROOT, env={**os.environ, "EVIDENCE_HOME": str(home)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    port = free_port()
    env = {
        **os.environ,
        "EVIDENCE_HOME": str(home),
        "EVIDENCE_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "EVIDENCE_API_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "TMPDIR": str(home / "tmp"),
    }
    (home / "tmp").mkdir()
    log_path = home / "api.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, proc, log_path)
        yield Api(url, kit, home, item.id)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        kit.stop_local_chain()
        kit.close()


def _temp_emptied(api: Api) -> bool:
    """The service's temporary files are gone (removed just after the response)."""
    deadline = time.monotonic() + 5
    while any((api.home / "tmp").iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_report_pdf_of_a_completed_item(api: Api) -> None:
    bob = api.login("bob")
    r = api.call("GET", f"/items/{api.item_id}/report", bob)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert _temp_emptied(api)


def test_bundle_zip_of_a_completed_item_verifies_with_the_cli(api: Api, tmp_path: Path) -> None:
    alice = api.login("alice")
    body = {"passphrase": TEST_PASSPHRASE, "reason": "移送检察院"}
    r = api.call("POST", f"/items/{api.item_id}/bundle", alice, json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(r.content)
    env = {**os.environ, "EVIDENCE_HOME": str(api.home)}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "verify", str(bundle), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    verdict = json.loads(done.stdout)
    results = [(c["check"], c["verdict"]) for c in verdict["checks"]]
    assert all(result != "FAIL" for _, result in results), done.stdout
    unchecked = {check for check, result in results if result != "PASS"}
    assert unchecked <= SYNTHETIC_GAPS, (unchecked, done.stdout)
    assert ("anchor.chain", "PASS") in results and ("custody.chain", "PASS") in results
    assert _temp_emptied(api)


def test_a_bundle_needs_the_exporting_officer_and_their_passphrase(api: Api) -> None:
    path = f"/items/{api.item_id}/bundle"
    alice, bob = api.login("alice"), api.login("bob")
    plain = api.call("GET", path, alice)
    assert plain.status_code == 409 and "POST" in plain.json()["message"]
    body = {"passphrase": TEST_PASSPHRASE, "reason": "移送"}
    assert api.call("POST", path, bob, json=body).status_code == 403  # no officer record
    assert api.call("POST", path, api.login("eve"), json=body).status_code == 403
    wrong = api.call("POST", path, alice, json={"passphrase": "wrong-passphrase-x1", "reason": "r"})
    assert wrong.status_code == 400 and set(wrong.json()) == {"error", "message"}
    assert api.call("POST", path, alice, json={"passphrase": TEST_PASSPHRASE}).status_code == 422
    assert "wrong-passphrase-x1" not in (api.home / "api.log").read_text(errors="replace")
    assert _temp_emptied(api)


@pytest.fixture(scope="module")
def bundle(api: Api) -> bytes:
    body = {"passphrase": TEST_PASSPHRASE, "reason": "核验"}
    r = api.call("POST", f"/items/{api.item_id}/bundle", api.login("alice"), json=body)
    assert r.status_code == 200, r.text
    return r.content


def _verify(api: Api, data: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.login('eve')}", "Content-Type": "application/zip"}
    return httpx.post(f"{api.url}/api/v1/verify", content=data, headers=headers, timeout=120)


def _rewritten(data: bytes, change: dict[str, bytes]) -> bytes:
    """The bundle with some members' contents replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, change.pop(info.filename, src.read(info)))
        for name, content in change.items():
            dst.writestr(name, content)
    return out.getvalue()


def test_verify_a_good_bundle_through_the_api(api: Api, bundle: bytes) -> None:
    r = _verify(api, bundle)
    assert r.status_code == 200, r.text
    verdict = r.json()
    results = [(c["check"], c["verdict"]) for c in verdict["checks"]]
    assert all(result != "FAIL" for _, result in results), results
    assert ("custody.chain", "PASS") in results and ("report.format", "PASS") in results
    # The service verifies offline: what needs the chain is not checked, the rest passes.
    unchecked = {check for check, result in results if result != "PASS"}
    assert unchecked <= SYNTHETIC_GAPS | OFFLINE_GAPS, unchecked
    assert verdict["manifest_sha256"] == api.kit.get_item(api.item_id).manifest_sha256
    assert _temp_emptied(api)


def test_verify_a_tampered_bundle_fails_naming_the_file(api: Api, bundle: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        name = next(n for n in zf.namelist() if n.endswith("dom.html"))
    r = _verify(api, _rewritten(bundle, {name: b"<html>altered</html>"}))
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["passed"] is False and verdict["exit_code"] != 0
    failed = [c for c in verdict["checks"] if c["verdict"] == "FAIL"]
    assert failed and any(name in c["subject"] or name in c["detail"] for c in failed), failed


def test_verify_hostile_zips_write_nothing_outside(api: Api, bundle: bytes) -> None:
    escape = "../../../escaped-by-verify.txt"
    traversal = _rewritten(bundle, {escape: b"owned"})
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b"{}")
        zf.writestr("artifacts/huge.bin", b"\0" * (300 * 1024 * 1024))
    assert len(bomb.getvalue()) < MAX_UPLOAD
    absolute = _rewritten(bundle, {"/tmp/escaped-by-verify.txt": b"owned"})
    link = io.BytesIO(_rewritten(bundle, {}))
    with zipfile.ZipFile(link, "a") as zf:
        member = zipfile.ZipInfo("artifacts/escaped-by-verify.txt")
        member.external_attr = 0o120777 << 16  # a symbolic link to outside
        zf.writestr(member, "../../../../escaped-by-verify.txt")
    for data in (traversal, bomb.getvalue(), absolute, link.getvalue()):
        r = _verify(api, data)
        assert r.status_code in (200, 400, 422), r.text
        assert set(r.json()) == {"error", "message"} or r.json()["passed"] is False
    roots = (api.home, api.home.parent, ROOT, Path("/tmp"))
    assert not any((root / "escaped-by-verify.txt").exists() for root in roots)
    assert not list(api.home.rglob("escaped-by-verify.txt"))
    assert not list(api.home.rglob("huge.bin"))
    assert _temp_emptied(api)


def test_verify_needs_a_signed_in_caller(api: Api, bundle: bytes) -> None:
    r = httpx.post(f"{api.url}/api/v1/verify", content=bundle, timeout=60)
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"


def test_custody_route_names_the_api_actions_and_their_actors(api: Api, bundle: bytes) -> None:
    bob = api.login("bob")
    assert api.call("GET", f"/items/{api.item_id}/report", bob).status_code == 200
    lines = api.call("GET", f"/items/{api.item_id}/custody", bob).json()
    done = {(line["action"], line["actor"]) for line in lines}
    assert ("report", "user:bob") in done, done
    assert any(a == "export" and TEST_OFFICER_ID in actor for a, actor in done), done
    # The custody query itself is in the log, as an access by the caller.
    rows = api.kit.custody_lines(api.item_id)
    assert [r for r in rows if r.actor == "user:bob"]
