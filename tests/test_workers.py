"""Celery workers on a real Redis, running the facade's jobs in real worker processes.

Each test starts its own worker subprocess(es) (``celery -A evidence.worker.app``)
on a data directory shared by the module; Redis runs on a free loopback port with
no persistence, so a restart loses every message the way a broker loss would.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from anchoring.anvil import LocalChain, find_anvil
from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError
from evidence.model.jobs import (
    ANCHOR_DUE_TASK,
    CapturePayload,
    QueueSettings,
    TimestampPayload,
)
from evidence.model.tables import AnchorBatch, Artifact, EvidenceItem, ItemStatus, JobStatus
from evidence.services.demo_site import DemoSite
from evidence.services.job_publishing import CeleryPublisher
from evidence.services.toolkit import Toolkit
from tests.conftest import require, require_tool
from tests.helpers import ensure_officer, seal_synthetic_item
from tests.redis_support import CeleryWorker, RedisServer, wait_for

CASE = "W-2026-001"


@dataclass
class Stack:
    home: Path
    redis: RedisServer
    kit: Toolkit
    officer: str

    def worker(
        self,
        name: str = "w1",
        *,
        pool: str = "prefork",
        beat: bool = False,
        env: dict[str, str] | None = None,
    ) -> CeleryWorker:
        env = {"EVIDENCE_DATABASE_URL": self.kit.settings.database_url, **(env or {})}
        return CeleryWorker(self.home, self.redis.url, name=name, pool=pool, beat=beat, env=env)

    def items_of(self, key: str) -> list[EvidenceItem]:
        with Session(self.kit.engine) as session:
            return list(session.exec(select(EvidenceItem).where(EvidenceItem.job_key == key)))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_tool("redis-server")
    home = tmp_path_factory.mktemp("workers-home")
    redis = RedisServer(home / "redis").start()
    kit = Toolkit(Settings.from_env(home))
    kit.jobs.publisher = CeleryPublisher(QueueSettings(broker_url=redis.url))
    kit.create_case(CASE, "workers test", exist_ok=True)
    officer = ensure_officer(kit, CASE)
    try:
        yield Stack(home, redis, kit, officer)
    finally:
        kit.close()
        redis.stop()
        LocalChain(home).stop()


def _job_done(stack: Stack, job_id: str) -> bool:
    return stack.kit.jobs.status(job_id).finished


class _SlowFirstVisit(BaseHTTPRequestHandler):
    """``/`` answers its first request only after 60 s (the capture to be killed)."""

    seen = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not _SlowFirstVisit.seen.is_set():
            _SlowFirstVisit.seen.set()
            time.sleep(60)
        body = b"<html><head><title>slow</title></head><body><p>slow page</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.slow
def test_a_capture_job_seals_one_item_and_a_duplicate_key_returns_the_same_job(
    stack: Stack,
) -> None:
    worker = stack.worker().start()
    try:
        with DemoSite() as site:
            payload = CapturePayload(CASE, site.url, stack.officer)
            job = stack.kit.jobs.submit("capture", payload, "case-system/1", "cms")
            assert job.status in (JobStatus.PUBLISHED, JobStatus.RUNNING, JobStatus.SUCCEEDED)
            again = stack.kit.jobs.submit("capture", payload, "case-system/1", "cms")
            assert again.id == job.id
            wait_for(lambda: _job_done(stack, job.id), 90, "the capture job")
        done = stack.kit.jobs.status(job.id)
        assert done.status is JobStatus.SUCCEEDED, (done.last_error, worker.log_text())
        assert done.attempts == 1
        items = stack.items_of("case-system/1")
        assert [i.id for i in items] == [done.result]
        assert items[0].status in (ItemStatus.SEALED, ItemStatus.TIMESTAMPED)
        # The sealed capture's timestamp follows as a job of its own.
        follow = stack.kit.jobs.find("case-system/1/timestamp")
        assert follow is not None
        wait_for(lambda: _job_done(stack, follow.id), 60, "the timestamp job")
        assert stack.kit.jobs.status(follow.id).status is JobStatus.SUCCEEDED
        assert stack.kit.get_item(done.result).status is ItemStatus.TIMESTAMPED
        # Submitted once more after it finished: still the same job, still one item.
        assert stack.kit.jobs.submit("capture", payload, "case-system/1", "cms").id == job.id
        assert len(stack.items_of("case-system/1")) == 1
    finally:
        worker.stop()


@pytest.mark.slow
def test_a_worker_killed_mid_capture_is_redelivered_and_makes_exactly_one_item(
    stack: Stack,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFirstVisit)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    worker = stack.worker(name="killed").start()
    try:
        payload = CapturePayload(CASE, url, stack.officer, then_timestamp=False)
        job = stack.kit.jobs.submit("capture", payload, "kill-me", "cms")
        wait_for(_SlowFirstVisit.seen.is_set, 60, "the capture to reach the page")
        [item] = stack.items_of("kill-me")
        assert item.status is ItemStatus.CAPTURING
        assert stack.kit.jobs.status(job.id).status is JobStatus.RUNNING
        for pid in worker.pool_children():
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: _job_done(stack, job.id), 90, "the redelivered capture job")
        done = stack.kit.jobs.status(job.id)
        assert done.status is JobStatus.SUCCEEDED, (done.last_error, worker.log_text())
        assert done.attempts == 2
        assert "WorkerLostError" in worker.log_text()
    finally:
        worker.stop()
        server.shutdown()
    [item] = stack.items_of("kill-me")
    assert item.id == done.result and item.status is ItemStatus.SEALED
    with Session(stack.kit.engine) as session:
        artifacts = session.exec(select(Artifact).where(Artifact.item_id == item.id)).all()
        same_url = session.exec(select(EvidenceItem).where(EvidenceItem.requested_url == url))
        assert len(list(same_url)) == 1
        unsettled = session.exec(
            select(EvidenceItem).where(
                col(EvidenceItem.status).in_([ItemStatus.CAPTURING, ItemStatus.FAILED])
            )
        ).all()
    assert unsettled == []
    assert artifacts and item.manifest_sha256
    for digest in [item.manifest_sha256, *(a.sha256 for a in artifacts)]:
        stack.kit.store.verify(digest)
    # The killed attempt's working files went with the retry; nothing half-written is left.
    assert not (stack.kit.settings.work_dir / item.id).exists()


def test_a_job_lost_with_a_redis_restart_is_published_again_by_the_sweeper(
    stack: Stack, tmp_path: Path
) -> None:
    require_tool("openssl")
    item = seal_synthetic_item(stack.kit, CASE, tmp_path / "files", "swept")
    job = stack.kit.jobs.submit("timestamp", TimestampPayload(item.id), "sweep-me", "cms")
    assert job.status is JobStatus.PUBLISHED
    stack.redis.restart()  # no persistence: the message is gone
    worker = stack.worker(
        name="sweeper",
        beat=True,
        env={
            "EVIDENCE_JOB_SWEEP_EVERY_S": "1",
            "EVIDENCE_JOB_SWEEP_AFTER_S": "2",
            "EVIDENCE_JOB_ANCHOR_EVERY_S": "3600",
        },
    ).start()
    try:
        wait_for(lambda: _job_done(stack, job.id), 60, "the swept job")
    finally:
        worker.stop()
    done = stack.kit.jobs.status(job.id)
    assert done.status is JobStatus.SUCCEEDED, (done.last_error, worker.log_text())
    assert done.attempts == 1
    assert done.published_at is not None and done.published_at > job.created_at
    assert stack.kit.get_item(item.id).status is ItemStatus.TIMESTAMPED


def test_two_racing_anchor_turns_on_two_workers_send_one_transaction(
    stack: Stack, tmp_path: Path
) -> None:
    require_tool("openssl")
    try:
        find_anvil()
    except ConfigurationError as exc:
        require(False, exc.message)
    ids = []
    for index in range(3):
        item = seal_synthetic_item(stack.kit, CASE, tmp_path / str(index), f"anchor-{index}")
        stack.kit.timestamp(item.id)
        ids.append(item.id)
    # The chain is started here so neither worker pays for it inside the race.
    stack.kit.local_chain_rpc_url()
    workers = [stack.worker(name=n, pool="solo").start() for n in ("a1", "a2")]
    try:
        publisher = CeleryPublisher(QueueSettings(broker_url=stack.redis.url))
        celery = publisher.client()  # the client the facade publishes with
        for _ in range(2):
            celery.send_task(ANCHOR_DUE_TASK)
        wait_for(
            lambda: all(stack.kit.get_item(i).status is ItemStatus.ANCHORED for i in ids),
            90,
            "the items to be anchored",
        )
        wait_for(
            lambda: sum(w.log_text().count("evidence.jobs.anchor_due[") for w in workers) >= 4,
            30,
            "both anchoring turns to end",
        )
        publisher.close()
    finally:
        for worker in workers:
            worker.stop()
    with Session(stack.kit.engine) as session:
        batches = session.exec(select(AnchorBatch)).all()
    # Every timestamped item waiting (these and earlier tests') went in one batch, one transaction.
    assert len(batches) == 1 and batches[0].transaction_hash
    anchors = {stack.kit.get_item(i).anchor.transaction_hash for i in ids}  # type: ignore[union-attr]
    assert anchors == {batches[0].transaction_hash}
