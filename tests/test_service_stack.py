"""``evidence service up|down|status``: the whole service on one machine, for real.

One module-scoped ``up`` in a tmp home (Redis, SeaweedFS S3, the API, a worker
with beat), then: status, an idempotent second ``up``, /openapi.json, a login
of a user made with ``evidence user add``, a capture job submitted with
``evidence jobs submit`` that a worker runs to the end, the S3 secret nowhere
but its 0600 file, and ``down`` leaving no process. Faults: a stale pid file,
a part that cannot start (its port taken) rolls the others back.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evidence import (
    PartState,
    ServicePart,
    ServiceStack,
    ServiceStartError,
    Settings,
    Toolkit,
)
from evidence.services.demo_site import DemoSite
from tests.cli_support import stop_local_chain
from tests.helpers import ensure_officer

CASE = "SVC-2026-001"
PASSWORD = "service-test-password-1"


def evidence(home: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """``evidence --home HOME ARGS... --json`` in a child process; its JSON output."""
    full = {**os.environ, "LANG": "C.UTF-8", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--home", str(home), *args],
        capture_output=True, text=True, env=full, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    return state != "Z"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    home = tmp_path_factory.mktemp("service-home")
    try:
        yield home, evidence(home, "service", "up", "--json")
    finally:
        ServiceStack(home).down(timeout_s=3)
        stop_local_chain(home)


def _urls(up: dict[str, Any]) -> dict[str, str]:
    return {p["part"]: p["url"] for p in up["parts"]}


def test_up_starts_every_part_and_status_shows_them_running(
    service: tuple[Path, dict[str, Any]],
) -> None:
    home, up = service
    assert up["running"] and not up["already_up"]
    status = evidence(home, "service", "status", "--json")
    assert [p["state"] for p in status["parts"]] == ["running"] * 4
    assert all(_alive(p["pid"]) for p in status["parts"])
    state = json.loads((home / "service" / "state.json").read_text())
    assert state["urls"] == _urls(up)
    for part in ServicePart:
        assert (home / "service" / "run" / f"{part.value}.pid").is_file()
        assert (home / "service" / "logs" / f"{part.value}.log").is_file()
    again = evidence(home, "service", "up", "--json")
    assert again["already_up"] and [p["pid"] for p in again["parts"]] == [
        p["pid"] for p in status["parts"]
    ]
    exports = evidence(home, "service", "env").splitlines()
    assert f"export EVIDENCE_BROKER_URL={_urls(up)['redis']}" in exports
    assert f"export EVIDENCE_S3_ENDPOINT={_urls(up)['s3']}" in exports
    assert not any("AWS_" in line for line in exports)


def test_the_s3_secret_is_only_in_its_0600_file(service: tuple[Path, dict[str, Any]]) -> None:
    home, up = service
    key_id, secret = ServiceStack(home).s3_keys()
    keys = home / "service" / "s3-identities.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    for path in (home / "service").rglob("*"):
        if path.is_file() and path != keys and path.stat().st_size < 5_000_000:
            assert secret.encode() not in path.read_bytes(), path
    for part in up["parts"]:
        command_line = Path(f"/proc/{part['pid']}/cmdline").read_bytes()
        assert secret.encode() not in command_line and key_id.encode() not in command_line


def test_the_api_answers_and_a_user_added_on_the_command_line_logs_in(
    service: tuple[Path, dict[str, Any]],
) -> None:
    home, up = service
    api = _urls(up)["api"]
    assert httpx.get(f"{api}/openapi.json", timeout=10).status_code == 200
    evidence(home, "user", "add", "sue", "--role", "supervisor", "--agency", "东城局",
             env={"EVIDENCE_USER_PASSWORD": PASSWORD})  # fmt: skip
    login = f"{api}/api/v1/auth/login"
    ok = httpx.post(login, json={"username": "sue", "password": PASSWORD}, timeout=10)
    assert ok.status_code == 200 and ok.json()["access_token"].startswith("evd_")
    wrong = httpx.post(login, json={"username": "sue", "password": PASSWORD + "x"}, timeout=10)
    assert wrong.status_code == 401


def _officer_on_case(home: Path) -> str:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        kit.create_case(CASE, "service stack test", exist_ok=True)
        return ensure_officer(kit, CASE)


def test_a_capture_job_submitted_on_the_command_line_is_run_by_the_worker(
    service: tuple[Path, dict[str, Any]],
) -> None:
    home, up = service
    officer = _officer_on_case(home)
    broker = {"EVIDENCE_BROKER_URL": _urls(up)["redis"]}
    with DemoSite() as site:
        job = evidence(home, "jobs", "submit", "capture", "--key", "svc-1", "--case", CASE,
                       "--url", site.url, "--officer", officer, "--no-timestamp", "--json",
                       env=broker)  # fmt: skip
        deadline = time.monotonic() + 45
        seen = {job["status"]}
        while time.monotonic() < deadline and job["status"] not in ("succeeded", "failed"):
            time.sleep(0.5)
            job = evidence(home, "jobs", "status", job["id"], "--json", env=broker)
            seen.add(job["status"])
    assert job["status"] == "succeeded", (job, seen)
    assert job["result"]


def test_down_stops_every_process_and_removes_the_pid_files(
    service: tuple[Path, dict[str, Any]],
) -> None:
    home, up = service
    down = evidence(home, "service", "down", "--timeout", "3", "--json")
    assert [p["state"] for p in down["parts"]] == ["stopped"] * 4
    assert not any(_alive(p["pid"]) for p in up["parts"])
    assert not list((home / "service" / "run").glob("*.pid"))
    again = evidence(home, "service", "down", "--json")
    assert not again["running"]


def test_a_stale_pid_file_is_shown_as_stale_and_removed_by_down(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    run = tmp_path / "service" / "run"
    run.mkdir(parents=True)
    (run / "api.pid").write_text(f"{gone.pid}\n")
    stack = ServiceStack(tmp_path)
    api = next(p for p in stack.status().parts if p.part is ServicePart.API)
    assert api.state is PartState.STALE and not stack.status().running
    assert all(p.state is PartState.STOPPED for p in stack.down(timeout_s=1).parts)
    assert not (run / "api.pid").exists()


def test_a_part_that_cannot_start_stops_the_others_and_says_which(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        stack = ServiceStack(tmp_path, ports=lambda n: [port] * n, ready_timeout_s=10)
        with pytest.raises(ServiceStartError, match="redis"):
            stack.up()
    finally:
        taken.close()
    assert all(p.state is PartState.STOPPED for p in stack.status().parts)
    assert not list((tmp_path / "service" / "run").glob("*.pid"))


def test_the_api_and_the_worker_get_back_the_secrets_the_command_withdrew(tmp_path: Path) -> None:
    from evidence import withdrawn_secrets

    environ = {"EVIDENCE_DATABASE_URL": "sqlite:////elsewhere/evidence.db", "PATH": "/bin"}
    with withdrawn_secrets(environ):
        stack = ServiceStack(tmp_path)
    assert "EVIDENCE_DATABASE_URL" not in environ
    urls = {"redis": "redis://127.0.0.1:1/0", "s3": "http://127.0.0.1:2", "api": "", "worker": ""}
    env = stack.child_env(urls)
    assert env["EVIDENCE_DATABASE_URL"] == "sqlite:////elsewhere/evidence.db"
    assert env["EVIDENCE_BROKER_URL"] == "redis://127.0.0.1:1/0"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == stack.s3_keys()
    assert stack.s3_keys() == ServiceStack(tmp_path).s3_keys()  # generated once


def test_a_pid_file_naming_a_reused_pid_is_stale_and_down_does_not_signal_it(
    tmp_path: Path,
) -> None:
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        run = tmp_path / "service" / "run"
        run.mkdir(parents=True)
        (run / "worker.pid").write_text(f"{bystander.pid} 1\n")  # started at another time
        stack = ServiceStack(tmp_path)
        worker = next(p for p in stack.status().parts if p.part is ServicePart.WORKER)
        assert worker.state is PartState.STALE
        stack.down(timeout_s=1)
        assert bystander.poll() is None and not (run / "worker.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_status_speaks_chinese(tmp_path: Path) -> None:
    from tests.cli_support import CHINESE, run, succeeded

    assert "日志：" in succeeded(run(tmp_path, "service", "status", lang=CHINESE)).output


def test_env_of_a_stopped_service_is_refused_in_one_line(tmp_path: Path) -> None:
    from tests.cli_support import one_line_error, run

    assert "not running" in one_line_error(run(tmp_path, "service", "env"))
