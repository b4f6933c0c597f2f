"""The CLI over the core: custody log, doctor, find, and a locked database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from evidence.model.config import Settings
from evidence.services.toolkit import Toolkit
from tests.conftest import REPO
from tests.helpers import seal_synthetic_item


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "EVIDENCE_HOME": str(home), "LANG": "C.UTF-8", **env}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _home_with_item(tmp_path: Path) -> tuple[Path, str, str]:
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        kit.create_case("案-CLI-1", "命令行测试")
        item = seal_synthetic_item(kit, "案-CLI-1", tmp_path / "src", "cli")
    assert item.manifest_sha256 is not None
    return home, item.id, item.manifest_sha256


def test_log_show_records_the_view_and_log_verify_passes(tmp_path: Path) -> None:
    home, item_id, _ = _home_with_item(tmp_path)
    shown = _cli(home, "log", "show", item_id[:8], "--reason", "专家查看", "--json")
    assert shown.returncode == 0, shown.stderr
    actions = [event["action"] for event in json.loads(shown.stdout)]
    assert actions[:3] == ["capture.start", "seal", "view"] or actions[:2] == ["seal", "view"]
    verified = _cli(home, "log", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"]
    # Edit one event behind the toolkit's back: verify names it and exits 1.
    with sqlite3.connect(home / "evidence.db") as db:
        db.execute("UPDATE custodyevent SET reason = 'forged' WHERE action = 'view'")
    broken = _cli(home, "log", "verify")
    assert broken.returncode == 1 and "BROKEN at event" in broken.stdout


def test_find_by_hash_and_bad_hash(tmp_path: Path) -> None:
    home, item_id, digest = _home_with_item(tmp_path)
    found = _cli(home, "find", "--hash", digest.upper(), "--json")
    assert found.returncode == 0 and [i["id"] for i in json.loads(found.stdout)] == [item_id]
    bad = _cli(home, "find", "--hash", "xyz")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "64 hexadecimal" in bad.stderr


def test_doctor_on_a_healthy_home(tmp_path: Path) -> None:
    home, _, _ = _home_with_item(tmp_path)
    result = _cli(home, "doctor", "--deep", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["healthy"] is True


def test_a_locked_database_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    home, _, _ = _home_with_item(tmp_path)
    holder = sqlite3.connect(home / "evidence.db", timeout=1)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = _cli(
            home, "case", "create", "案-CLI-2", "--title", "锁", EVIDENCE_DB_BUSY_TIMEOUT_S="0.5"
        )
    finally:
        holder.rollback()
        holder.close()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "locked" in lines[0]
    listed = _cli(home, "case", "list", "--json")
    assert [c["number"] for c in json.loads(listed.stdout)] == ["案-CLI-1"]
