"""The HTTP API through a real uvicorn server (a subprocess on a free loopback port).

One server per module, on a data directory the tests also open directly to set up
agencies, users, a case and a sealed item. No broker runs: a capture job submitted
through the API is written and stays queued (the workers are tested in test_workers).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from evidence.model.config import Settings
from evidence.services.toolkit import Toolkit
from tests.helpers import TEST_OFFICER_ID, ensure_officer, seal_synthetic_item

ROOT = Path(__file__).resolve().parent.parent
AGENCY, OTHER = "东城市场监管局", "西城市场监管局"
CASE, OTHER_CASE = "A-2026-001", "B-2026-001"
PASSWORD = "correct-horse-battery"
MAX_UPLOAD = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    url: str
    kit: Toolkit
    home: Path
    item_id: str
    other_item_id: str
    client_token: str
    client_token_id: str

    def login(self, name: str, password: str = PASSWORD) -> str:
        r = httpx.post(
            f"{self.url}/api/v1/auth/login", json={"username": name, "password": password}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def get(self, path: str, token: str, **kw: object) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1{path}", headers=_auth(token), **kw)  # type: ignore[arg-type]

    def post(self, path: str, token: str, **kw: object) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1{path}", headers=_auth(token), **kw)  # type: ignore[arg-type]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _setup(kit: Toolkit, home: Path) -> tuple[str, str, str, str]:
    kit.create_case(CASE, "某网店销售假冒商品案", agency=AGENCY)
    kit.create_case(OTHER_CASE, "另一局的案件", agency=OTHER)
    ensure_officer(kit, CASE)
    item = seal_synthetic_item(kit, CASE, home / "work-a", "a")
    other = seal_synthetic_item(kit, OTHER_CASE, home / "work-b", "b")
    ids = kit.identity
    ids.add_user("alice", "officer", AGENCY, password=PASSWORD, enforcement_id=TEST_OFFICER_ID)
    ids.add_user("bob", "supervisor", AGENCY, password=PASSWORD)
    ids.add_user("eve", "expert", AGENCY, password=PASSWORD)
    ids.add_user("mallory", "supervisor", OTHER, password=PASSWORD)
    ids.add_user("cms", "case_system", AGENCY)
    issued = ids.issue_token("cms", "case-system-1")
    return item.id, other.id, issued.token, issued.id


def wait_for_api(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the API at ``url`` answers; its log in the failure if the process ended."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("api-home")
    kit = Toolkit(Settings.from_env(str(home)))
    item_id, other_id, token, token_id = _setup(kit, home)
    port = free_port()
    env = {
        **os.environ,
        "EVIDENCE_HOME": str(home),
        "EVIDENCE_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "EVIDENCE_API_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
    }
    log = (home / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, proc, home / "api.log")
        yield Service(url, kit, home, item_id, other_id, token, token_id)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        kit.close()


def test_openapi_is_public_and_everything_else_needs_a_token(service: Service) -> None:
    schema = httpx.get(f"{service.url}/openapi.json").json()
    assert "/api/v1/jobs/capture" in schema["paths"]
    r = httpx.get(f"{service.url}/api/v1/cases")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated"
    assert service.get("/cases", "evd_not-a-real-token").status_code == 401


def test_login_and_agency_scoped_cases(service: Service) -> None:
    bob = service.login("bob")
    numbers = [c["number"] for c in service.get("/cases", bob).json()]
    assert numbers == [CASE]
    assert service.get(f"/cases/{CASE}", bob).status_code == 200
    # Another agency's case is exactly as absent as a case that does not exist.
    other = service.get(f"/cases/{OTHER_CASE}", bob)
    missing = service.get("/cases/NO-SUCH-CASE", bob)
    assert other.status_code == missing.status_code == 404
    assert OTHER_CASE in other.json()["message"] and "西城" not in other.text
    assert service.get(f"/items/{service.other_item_id}", bob).status_code == 404
    mallory = service.login("mallory")
    assert service.get(f"/items/{service.item_id}", mallory).status_code == 404
    assert service.get(f"/items/{service.item_id[:8]}", bob).status_code == 404  # no prefixes


def test_wrong_password_and_unknown_user_answer_alike(service: Service) -> None:
    url = f"{service.url}/api/v1/auth/login"
    wrong = httpx.post(url, json={"username": "eve", "password": "nope-nope-nope"})
    unknown = httpx.post(url, json={"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_is_rate_limited_per_user_and_address(service: Service) -> None:
    service.kit.identity.add_user("carol", "officer", AGENCY, password=PASSWORD)
    url = f"{service.url}/api/v1/auth/login"
    for _ in range(5):
        assert httpx.post(url, json={"username": "carol", "password": "x"}).status_code == 401
    limited = httpx.post(url, json={"username": "carol", "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) >= 1
    assert httpx.post(url, json={"username": "bob", "password": PASSWORD}).status_code == 200


def test_malformed_json_is_422_in_the_one_error_shape(service: Service) -> None:
    bob = service.login("bob")
    headers = {**_auth(bob), "Content-Type": "application/json"}
    r = httpx.post(f"{service.url}/api/v1/cases", headers=headers, content=b'{"number": ')
    assert r.status_code == 422
    assert set(r.json()) == {"error", "message"}
    r = httpx.post(f"{service.url}/api/v1/auth/login", content=b"[1,2", headers=headers)
    assert r.status_code == 422


def test_roles_are_enforced(service: Service) -> None:
    eve = service.login("eve")
    r = service.post("/cases", eve, json={"number": "E-1", "title": "t"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert service.get("/cases", eve).status_code == 403


def test_item_manifest_and_artifacts_with_traversal_refused(service: Service) -> None:
    bob = service.login("bob")
    item = service.get(f"/items/{service.item_id}", bob).json()
    names = [a["name"] for a in item["artifacts"]]
    assert names
    first = item["artifacts"][0]
    r = service.get(f"/items/{service.item_id}/artifacts/{first['name']}", bob)
    assert r.status_code == 200
    import hashlib

    assert hashlib.sha256(r.content).hexdigest() == first["sha256"]
    manifest = service.get(f"/items/{service.item_id}/manifest", bob)
    assert hashlib.sha256(manifest.content).hexdigest() == item["manifest_sha256"]
    for bad in ("../../../etc/passwd", "%2Fetc%2Fpasswd", "..%2F..%2Fdb.sqlite", "a/../b",
                "%2E%2E/evidence.db", "nope.png"):  # fmt: skip
        r = httpx.get(
            f"{service.url}/api/v1/items/{service.item_id}/artifacts/{bad}", headers=_auth(bob)
        )
        assert r.status_code in (400, 404), (bad, r.status_code)
        assert set(r.json()) == {"error", "message"} and "root:" not in r.text


def test_token_expiry_and_revocation_are_401(service: Service) -> None:
    kit = service.kit
    assert service.get("/cases", service.client_token).status_code == 200
    issued = kit.identity.issue_token("cms", "short-lived")
    assert service.get("/cases", issued.token).status_code == 200
    with kit.engine.begin() as db:
        db.execute(
            text("UPDATE accesstoken SET expires_at = '2000-01-01 00:00:00' WHERE id = :id"),
            {"id": issued.id},
        )
    r = service.get("/cases", issued.token)
    assert r.status_code == 401 and "expired" in r.json()["message"]
    second = kit.identity.issue_token("cms", "to-revoke")
    kit.identity.revoke_token(second.id)
    r = service.get("/cases", second.token)
    assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_tokens_are_stored_only_as_digests(service: Service) -> None:
    files = [p for p in service.home.rglob("*") if p.is_file() and ".db" in p.name]
    assert files
    for path in files:
        data = path.read_bytes()
        assert service.client_token.encode() not in data
        assert PASSWORD.encode() not in data


def test_capture_jobs_are_queued_idempotent_and_cancellable(service: Service) -> None:
    alice = service.login("alice")
    one = {"case_number": CASE, "url": "https://shop.example/1", "idempotency_key": "k-1"}
    r = service.post("/jobs/capture", alice, json=one)
    assert r.status_code == 202, r.text
    job = r.json()["jobs"][0]
    assert job["status"] == "queued" and job["payload"]["officer"] == TEST_OFFICER_ID
    again = service.post("/jobs/capture", alice, json=one).json()["jobs"][0]
    assert again["id"] == job["id"]
    many = [
        {**one, "idempotency_key": f"k-list-{i}", "url": f"https://shop.example/{i}",
         "officer": TEST_OFFICER_ID}
        for i in range(3)
    ]  # fmt: skip
    listed = service.post("/jobs/capture", service.client_token, json={"jobs": many})
    ids = {j["id"] for j in listed.json()["jobs"]}
    assert len(ids) == 3
    assert service.get(f"/jobs/{job['id']}", alice).json()["status"] == "queued"
    mallory = service.login("mallory")
    assert service.get(f"/jobs/{job['id']}", mallory).status_code == 404
    other = {**one, "case_number": OTHER_CASE, "idempotency_key": "m-1"}
    assert service.post("/jobs/capture", mallory, json=other).status_code in (400, 422)
    assert (
        service.post("/jobs/capture", mallory, json={**one, "idempotency_key": "m-2"}).status_code
        == 404
    )
    cancelled = service.post(f"/jobs/{job['id']}/cancel", alice).json()
    assert cancelled["status"] == "cancelled"
    with httpx.stream("GET", f"{service.url}/api/v1/jobs/{job['id']}/events",
                      headers=_auth(alice), timeout=10) as events:  # fmt: skip
        assert events.headers["content-type"].startswith("text/event-stream")
        body = "".join(events.iter_text())
    assert "event: status" in body and '"cancelled"' in body and "event: end" in body


def test_custody_events_carry_the_authenticated_actor(service: Service) -> None:
    bob = service.login("bob")
    alice = service.login("alice")
    service.get(f"/items/{service.item_id}", bob)
    service.get(f"/items/{service.item_id}", alice)
    service.get(f"/items/{service.item_id}", service.client_token)
    lines = service.get(f"/items/{service.item_id}/custody", bob).json()
    actors = {line["actor"] for line in lines if line["action"] == "view"}
    assert "user:bob" in actors
    assert "client:case-system-1" in actors
    assert any(TEST_OFFICER_ID in a for a in actors)
    with service.kit.engine.connect() as db:
        rows = db.execute(text("SELECT actor, action FROM custodyevent")).all()
    assert ("user:bob", "auth.login") in {(r[0], r[1]) for r in rows}


def test_oversized_upload_is_413_and_junk_is_a_clear_answer(service: Service) -> None:
    eve = service.login("eve")

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"\0" * MAX_UPLOAD

    r = service.post("/verify", eve, content=chunks())
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    declared = service.post("/verify", eve, content=b"x" * (MAX_UPLOAD + 1))
    assert declared.status_code == 413
    junk = service.post("/verify", eve, content=b"PK not a zip at all")
    assert junk.status_code in (200, 400), junk.text
    if junk.status_code == 200:
        assert junk.json()["passed"] is False
    leftovers = list(Path("/tmp").glob("evidence-verify-*"))
    assert all(not any(p.iterdir()) for p in leftovers if p.is_dir()) or not leftovers
