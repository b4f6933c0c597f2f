"""Killing the process (SIGKILL) mid-capture and mid-seal, and 8 writers at once.

Invariants checked after every kill and after ``doctor``: no item is sealed
unless its manifest and every artifact are in the store with their recorded
digests; an interrupted capture ends ``failed`` with its working files kept;
the custody log still verifies; nothing that was sealed before is lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from evidence.model.config import Settings
from evidence.model.tables import Artifact, EvidenceItem, ItemStatus
from evidence.services.demo_site import DemoSite
from evidence.services.toolkit import Toolkit
from tests.conftest import REPO, require
from tests.helpers import ensure_officer

CASE = "崩溃-2026-001"

_SEALER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from evidence.services.toolkit import Toolkit
    from evidence.model.config import Settings
    from evidence.model.store import ArtifactStore
    from tests.helpers import seal_synthetic_item

    home, label, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    delay, case = float(sys.argv[4]), sys.argv[5]
    if delay:
        # Fault injection: widen the window between store writes so a kill can land inside.
        original = ArtifactStore.put_chunks
        def slow(self, chunks):
            digests = original(self, chunks)
            time.sleep(delay)
            return digests
        ArtifactStore.put_chunks = slow
    kit = Toolkit(Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}"))
    print("ready", flush=True)
    for i in range(count):
        seal_synthetic_item(kit, case, home / "work-src" / f"{label}-{i}", f"{label}-{i}")
    print("done", flush=True)
    """
)


def _settings(home: Path) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")


def _start_sealer(home: Path, label: str, count: int, delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SEALER, str(home), label, str(count), str(delay), CASE],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_invariants(kit: Toolkit) -> dict[ItemStatus, int]:
    counts: dict[ItemStatus, int] = {}
    with Session(kit.engine) as session:
        for item in session.exec(select(EvidenceItem)).all():
            status = ItemStatus(item.status)
            counts[status] = counts.get(status, 0) + 1
            if status is ItemStatus.CAPTURING:
                continue
            if status is ItemStatus.FAILED:
                assert item.error
                continue
            assert item.manifest_sha256 is not None
            kit.store.verify(item.manifest_sha256)
            artifacts = session.exec(select(Artifact).where(Artifact.item_id == item.id)).all()
            assert len(artifacts) == 2, f"sealed item {item.id} has {len(artifacts)} artifacts"
            for artifact in artifacts:
                assert kit.store.verify(artifact.sha256).sm3 == artifact.sm3
    assert kit.verify_custody_log().ok
    return counts


def test_sigkill_at_many_points_during_sealing_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Toolkit(_settings(home)) as kit:
        kit.create_case(CASE, "崩溃测试")
    sealed_before = 0
    for round_number, kill_after in enumerate([0.0, 0.03, 0.07, 0.11, 0.16, 0.22, 0.3, 0.45]):
        proc = _start_sealer(home, f"r{round_number}", 4, 0.04)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Toolkit(_settings(home)) as kit:
            before = _assert_invariants(kit)
            report = kit.doctor(deep=True)
            assert report.healthy, report
            after = _assert_invariants(kit)
            assert ItemStatus.CAPTURING not in after
            sealed_now = after.get(ItemStatus.SEALED, 0)
            assert sealed_now >= sealed_before, "a sealed item was lost"
            assert before.get(ItemStatus.SEALED, 0) == sealed_now
            sealed_before = sealed_now
            assert not list((home / "store" / "tmp").glob("incoming-*"))
    assert sealed_before > 0


def test_eight_processes_sealing_at_once_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Toolkit(_settings(home)) as kit:
        kit.create_case(CASE, "并发测试")
        ensure_officer(kit, CASE)  # once, before eight processes would race to add it
    procs = [_start_sealer(home, f"p{n}", 5, 0.0) for n in range(8)]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        assert out.strip().endswith("done")
    with Toolkit(_settings(home)) as kit:
        counts = _assert_invariants(kit)
        assert counts == {ItemStatus.SEALED: 40}
        assert kit.doctor(deep=True).healthy


@pytest.mark.slow
def test_sigkill_during_a_real_capture_keeps_the_working_files(tmp_path: Path) -> None:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    home = tmp_path / "home"
    home.mkdir()
    with Toolkit(_settings(home)) as kit:
        kit.create_case(CASE, "采集中断测试")
        officer = ensure_officer(kit, CASE)
    env = {**os.environ, "EVIDENCE_HOME": str(home), "EVIDENCE_ALLOW_PRIVATE_TARGETS": "1"}
    with DemoSite() as site:
        for kill_after in (0.8, 1.6, 2.4):
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cli",
                    "capture",
                    CASE,
                    site.url,
                    "--no-complete",
                    "--officer",
                    officer,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            time.sleep(kill_after)
            # Kill the whole process group: the CLI and its Chromium.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with Toolkit(_settings(home)) as kit:
            _assert_invariants(kit)
            report = kit.doctor()
            assert report.healthy
            counts = _assert_invariants(kit)
            assert ItemStatus.CAPTURING not in counts
            for item in kit.list_items(CASE):
                if item.status is ItemStatus.FAILED:
                    assert "interrupted" in item.error
