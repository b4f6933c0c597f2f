"""The jobs service (the outbox) on SQLite and PostgreSQL, publishing to a real Redis.

No worker runs here: ``kit.jobs.run`` is called in this process the way a worker
calls it, to test claiming, outcomes, retries and leases one step at a time.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlmodel import Session

from anchoring.tsa import RetryPolicy
from evidence.model.config import Settings
from evidence.model.jobs import (
    BrokerUnavailableError,
    CapturePayload,
    IdempotencyConflictError,
    InvalidPayloadError,
    JobNotFoundError,
    JobStateError,
    QueueSettings,
    TimestampPayload,
    TransientJobError,
)
from evidence.model.tables import ItemStatus, Job, JobKind, JobStatus
from evidence.services.job_publishing import CeleryPublisher, take_lease
from evidence.services.toolkit import Toolkit
from tests.conftest import require_tool
from tests.helpers import seal_synthetic_item
from tests.redis_support import RedisServer, free_port

CASE = "J-2026-001"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    require_tool("redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def kit(database_url: str, tmp_path: Path, broker: RedisServer) -> Iterator[Toolkit]:
    settings = Settings(home=tmp_path, database_url=database_url, allow_private_targets=True)
    with Toolkit(settings) as kit:
        kit.jobs.publisher = CeleryPublisher(QueueSettings(broker_url=broker.url))
        kit.create_case(CASE, "jobs test", exist_ok=True)
        redis.Redis.from_url(broker.url).flushall()
        yield kit


def _queued_messages(broker: RedisServer) -> int:
    return int(redis.Redis.from_url(broker.url).llen("celery"))


def _capture(url: str = "http://127.0.0.1:9/page") -> CapturePayload:
    return CapturePayload(CASE, url, "TEST-0001")


def _edit(kit: Toolkit, job_id: str, **changes: object) -> None:
    with Session(kit.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        for name, value in changes.items():
            setattr(job, name, value)
        session.add(job)
        session.commit()


def test_submit_writes_then_publishes_and_a_key_returns_the_same_job(
    kit: Toolkit, broker: RedisServer
) -> None:
    job = kit.jobs.submit(JobKind.CAPTURE, _capture(), "cms/42", "cms")
    assert job.status is JobStatus.PUBLISHED and job.published_at is not None
    assert job.payload == _capture() and job.submitted_by == "cms"
    assert _queued_messages(broker) == 1
    as_mapping = {"case_number": CASE, "url": _capture().url, "officer": "TEST-0001"}
    again = kit.jobs.submit("capture", as_mapping, "cms/42", "someone else")
    assert again.id == job.id and _queued_messages(broker) == 1
    assert kit.jobs.find("cms/42") == kit.jobs.status(job.id)
    assert [j.id for j in kit.jobs.list(kind=JobKind.CAPTURE)] == [job.id]
    assert kit.jobs.list(status=JobStatus.FAILED) == []


def test_a_reused_key_with_another_payload_is_refused(kit: Toolkit) -> None:
    kit.jobs.submit("capture", _capture(), "cms/43", "cms")
    with pytest.raises(IdempotencyConflictError, match="cms/43"):
        kit.jobs.submit("capture", _capture("http://127.0.0.1:9/other"), "cms/43", "cms")
    with pytest.raises(IdempotencyConflictError):
        kit.jobs.submit("timestamp", TimestampPayload("x"), "cms/43", "cms")


@pytest.mark.parametrize(
    ("kind", "payload", "key", "message"),
    [
        ("shred", {}, "k", "no job kind 'shred'"),
        ("capture", {"case_number": CASE, "url": "u"}, "k", "missing .* 'officer'"),
        ("capture", {"case_number": CASE, "url": "u", "officer": ""}, "k", "officer must be"),
        ("capture", {"case_number": CASE, "url": "u", "officer": "o", "x": 1}, "k", "fit"),
        ("capture", '{"case_number": ', "k", "not JSON"),
        ("capture", "[1]", "k", "JSON object"),
        ("timestamp", {"item_id": 5}, "k", "item_id must be"),
        ("anchor_batch", {"max_items": 0}, "k", "max_items must be"),
        ("anchor_batch", {"max_items": True}, "k", "max_items must be"),
        ("timestamp", {"item_id": "i"}, "", "idempotency key"),
        ("timestamp", {"item_id": "i"}, "k" * 201, "idempotency key"),
        ("timestamp", {"item_id": "i"}, "a\nb", "idempotency key"),
        ("timestamp", _capture(), "k", "takes a TimestampPayload"),
    ],
)
def test_bad_submissions_are_refused_before_anything_is_written(
    kit: Toolkit, kind: str, payload: object, key: str, message: str
) -> None:
    with pytest.raises(InvalidPayloadError, match=message):
        kit.jobs.submit(kind, payload, key, "cms")  # type: ignore[arg-type]
    assert kit.jobs.list() == []


def test_a_broker_that_is_down_leaves_the_job_queued_and_the_sweeper_publishes_it(
    kit: Toolkit, broker: RedisServer
) -> None:
    live = kit.jobs.publisher
    dead = CeleryPublisher(QueueSettings(broker_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(BrokerUnavailableError, match="stays queued"):
        dead.publish("j", JobKind.CAPTURE)
    kit.jobs.publisher = dead
    job = kit.jobs.submit("capture", _capture(), "cms/44", "cms")
    assert job.status is JobStatus.QUEUED and job.published_at is None
    assert kit.jobs.sweep(timedelta(0)).failed_to_publish == (job.id,)
    kit.jobs.publisher = live
    assert kit.jobs.sweep(timedelta(hours=1)).republished == ()  # too recent to be lost
    swept = kit.jobs.sweep(timedelta(0))
    assert swept.republished == (job.id,) and swept.taken_back == ()
    assert kit.jobs.status(job.id).status is JobStatus.PUBLISHED
    assert _queued_messages(broker) == 1


def test_cancel_only_before_a_worker_starts(kit: Toolkit) -> None:
    waiting = kit.jobs.submit("capture", _capture(), "cms/45", "cms")
    assert kit.jobs.cancel(waiting.id).status is JobStatus.CANCELLED
    assert kit.jobs.cancel(waiting.id).status is JobStatus.CANCELLED
    assert kit.jobs.run(waiting.id).status is JobStatus.CANCELLED  # a late message does nothing
    running = kit.jobs.submit("capture", _capture("http://127.0.0.1:9/b"), "cms/46", "cms")
    _edit(kit, running.id, status=JobStatus.RUNNING)
    with pytest.raises(JobStateError, match="running"):
        kit.jobs.cancel(running.id)
    with pytest.raises(JobNotFoundError):
        kit.jobs.cancel("no-such-job")
    with pytest.raises(JobNotFoundError):
        kit.jobs.status("no-such-job")


def test_a_job_another_live_worker_runs_is_left_to_it_and_a_dead_ones_is_taken_over(
    kit: Toolkit, tmp_path: Path
) -> None:
    require_tool("openssl")
    item = seal_synthetic_item(kit, CASE, tmp_path / "files", "claimed")
    job = kit.jobs.submit("timestamp", TimestampPayload(item.id), "cms/47", "cms")
    later = datetime.now(UTC) + timedelta(hours=1)
    alive = f"{socket.gethostname()}:{os.getppid()}"
    _edit(kit, job.id, status=JobStatus.RUNNING, worker=alive, lease_until=later, attempts=1)
    with pytest.raises(TransientJobError, match="is running in worker"):
        kit.jobs.run(job.id)
    _edit(kit, job.id, worker="elsewhere:1")  # another host: its lease is what counts
    with pytest.raises(TransientJobError):
        kit.jobs.run(job.id)
    _edit(kit, job.id, worker=f"{socket.gethostname()}:{2**22 + 7}")  # no such process here
    done = kit.jobs.run(job.id)
    assert done.status is JobStatus.SUCCEEDED and done.result == item.id
    assert done.attempts == 2 and kit.get_item(item.id).status is ItemStatus.TIMESTAMPED
    assert kit.jobs.run(job.id).attempts == 2  # delivered again: nothing more happens


def test_the_sweeper_takes_back_a_running_job_whose_lease_ended(kit: Toolkit) -> None:
    job = kit.jobs.submit("capture", _capture(), "cms/48", "cms")
    earlier = datetime.now(UTC) - timedelta(seconds=1)
    _edit(kit, job.id, status=JobStatus.RUNNING, worker="elsewhere:1", lease_until=earlier)
    swept = kit.jobs.sweep(timedelta(hours=1))
    assert swept.taken_back == (job.id,) and swept.republished == (job.id,)
    assert kit.jobs.status(job.id).status is JobStatus.PUBLISHED


def test_an_outage_puts_the_job_back_for_a_retry_and_too_many_attempts_fail_it(
    kit: Toolkit, tmp_path: Path
) -> None:
    require_tool("openssl")
    item = seal_synthetic_item(kit, CASE, tmp_path / "files", "tsa-down")
    from anchoring.devtsa import DevelopmentTSA

    roots = tmp_path / "roots.pem"
    roots.write_bytes(DevelopmentTSA(tmp_path).ca_certificate_pem)
    dead_tsa = f"http://127.0.0.1:{free_port()}/tsa"
    settings = replace(kit.settings, tsa_url=dead_tsa, tsa_roots_path=roots)
    with Toolkit(settings) as down:
        down.tsa_retry = RetryPolicy(attempts=1, backoff_s=0.01)
        down.jobs.publisher = kit.jobs.publisher
        job = down.jobs.submit("timestamp", TimestampPayload(item.id), "cms/49", "cms")
        with pytest.raises(TransientJobError, match="waits for a retry"):
            down.jobs.run(job.id)
        back = down.jobs.status(job.id)
        assert back.status is JobStatus.PUBLISHED and back.attempts == 1 and back.last_error
        assert kit.get_item(item.id).status is ItemStatus.SEALED
        _edit(kit, job.id, attempts=down.jobs.queue.max_retries + 1)
        given_up = down.jobs.run(job.id)
    assert given_up.status is JobStatus.FAILED and "gave up after" in given_up.last_error


def test_a_job_that_cannot_succeed_fails_with_its_reason(kit: Toolkit) -> None:
    job = kit.jobs.submit("timestamp", TimestampPayload("no-such-item"), "cms/50", "cms")
    failed = kit.jobs.run(job.id)
    assert failed.status is JobStatus.FAILED and "no-such-item" in failed.last_error
    assert failed.finished_at is not None


def test_one_anchoring_turn_at_a_time(kit: Toolkit) -> None:
    now = datetime.now(UTC)
    with Session(kit.engine) as session:
        assert take_lease(session, "anchor_batch", "other:1", now, now + timedelta(minutes=5))
    with Session(kit.engine) as session:
        assert not take_lease(session, "anchor_batch", "third:1", now, now + timedelta(minutes=5))
    run = kit.jobs.anchor_due()
    assert not run.anchored and run.skipped_because == "another worker is anchoring"
    job = kit.jobs.submit("anchor_batch", {}, "cms/51", "cms")
    with pytest.raises(TransientJobError, match="another worker is anchoring"):
        kit.jobs.run(job.id)
    # An expired lease (its worker died mid-batch) is taken; nothing waits, nothing is sent.
    with Session(kit.engine) as session:
        later = now + timedelta(minutes=10)
        assert take_lease(session, "anchor_batch", "third:1", later, later + timedelta(minutes=1))
        assert take_lease(session, "anchor_batch", "third:1", later + timedelta(minutes=2), later)
    from evidence.services.job_publishing import drop_lease

    with Session(kit.engine) as session:
        drop_lease(session, "anchor_batch", "third:1")
    run = kit.jobs.anchor_due()
    assert run.skipped_because == "" and run.batch_ids == ()
    assert kit.jobs.run(job.id).status is JobStatus.SUCCEEDED


def test_the_jobs_commands(tmp_path: Path, broker: RedisServer) -> None:
    import json

    from tests.cli_support import one_line_error, run, succeeded

    env = {"EVIDENCE_BROKER_URL": broker.url, "EVIDENCE_DATABASE_URL": None}
    submit = ("jobs", "submit", "timestamp", "--item", "i-1", "--key", "cli/1", "--json")
    job = json.loads(succeeded(run(tmp_path, *submit, env=env)).stdout)
    assert job["status"] == "published" and job["payload"] == {"item_id": "i-1"}
    assert json.loads(succeeded(run(tmp_path, *submit, env=env)).stdout)["id"] == job["id"]
    shown = succeeded(run(tmp_path, "jobs", "status", job["id"], env=env)).stdout
    assert job["id"] in shown and "published" in shown
    listed = json.loads(succeeded(run(tmp_path, "jobs", "list", "--json", env=env)).stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    cancelled = succeeded(run(tmp_path, "jobs", "cancel", job["id"], "--json", env=env))
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    incomplete = run(tmp_path, "jobs", "submit", "capture", "--key", "cli/2", env=env)
    assert "case_number must be a non-empty string" in one_line_error(incomplete)
    assert "no job nope" in one_line_error(run(tmp_path, "jobs", "status", "nope", env=env))
    # A broker that is down: the job is written and stays queued for the sweeper.
    down = {**env, "EVIDENCE_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    queued = run(tmp_path, "jobs", "submit", "anchor_batch", "--key", "cli/3", "--json", env=down)
    assert json.loads(succeeded(queued).stdout)["status"] == "queued"
