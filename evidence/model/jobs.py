"""What the workers' jobs carry and how they are queued: payloads, settings, errors.

The facade (``evidence/services/jobs.py``) writes a job row, then publishes its id to
the broker under the task name of its kind; the worker (``evidence/worker/``) runs the
task of that name. Both take the names and settings from here, so they cannot drift.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from evidence.model.errors import ConfigurationError, EvidenceError, NotFoundError
from evidence.model.tables import Job, JobKind, JobStatus

ENV_BROKER_URL = "EVIDENCE_BROKER_URL"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"

TASK_NAMES: Mapping[JobKind, str] = {
    JobKind.CAPTURE: "evidence.jobs.capture",
    JobKind.TIMESTAMP: "evidence.jobs.timestamp",
    JobKind.ANCHOR_BATCH: "evidence.jobs.anchor_batch",
}
"""The Celery task that runs each kind of job (published by name: no worker import)."""
SWEEP_TASK = "evidence.jobs.sweep"
ANCHOR_DUE_TASK = "evidence.jobs.anchor_due"


class JobNotFoundError(NotFoundError):
    """No job has that id."""


class IdempotencyConflictError(EvidenceError):
    """An idempotency key was submitted again with a different kind or payload."""


class JobStateError(EvidenceError):
    """The job cannot do that in its current status (cancel a running job, ...)."""


class BrokerUnavailableError(EvidenceError):
    """The message broker (Redis, RabbitMQ) could not take the job; it stays queued."""


class TransientJobError(EvidenceError):
    """A job met an outage (TSA, chain, store, database, another worker holding it):
    the worker retries it later, with backoff."""


class InvalidPayloadError(EvidenceError):
    """A job's payload does not fit its kind."""


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be more than 0 seconds, not {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """The broker and the workers' timing, from ``EVIDENCE_BROKER_URL`` and ``EVIDENCE_JOB_*``.

    ``broker_url`` may hold a password: it is kept out of ``repr`` and never logged.
    """

    broker_url: str = field(default=DEFAULT_BROKER_URL, repr=False)
    soft_time_limit_s: float = 300.0
    """A task past this gets SoftTimeLimitExceeded (the capture is marked failed)."""
    hard_time_limit_s: float = 360.0
    """A task past this is killed; its job is taken over once its lease ends."""
    sweep_after_s: float = 60.0
    """A job queued or published this long and not started is published again."""
    sweep_every_s: float = 30.0
    anchor_every_s: float = 60.0
    max_retries: int = 8
    retry_backoff_max_s: float = 300.0

    @property
    def lease_s(self) -> float:
        """How long a running job is held: no task outlives its hard time limit."""
        return self.hard_time_limit_s + 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QueueSettings:
        env = os.environ if env is None else env
        return cls(
            broker_url=env.get(ENV_BROKER_URL) or DEFAULT_BROKER_URL,
            soft_time_limit_s=_seconds(env, "EVIDENCE_JOB_SOFT_TIME_LIMIT_S", 300.0),
            hard_time_limit_s=_seconds(env, "EVIDENCE_JOB_HARD_TIME_LIMIT_S", 360.0),
            sweep_after_s=_seconds(env, "EVIDENCE_JOB_SWEEP_AFTER_S", 60.0),
            sweep_every_s=_seconds(env, "EVIDENCE_JOB_SWEEP_EVERY_S", 30.0),
            anchor_every_s=_seconds(env, "EVIDENCE_JOB_ANCHOR_EVERY_S", 60.0),
        )


# --- payloads: one typed record per kind -------------------------------------


@dataclass(frozen=True, slots=True)
class CapturePayload:
    case_number: str
    url: str
    officer: str
    """The acting officer's enforcement ID (one of the case's officers)."""
    place: str | None = None
    purpose: str | None = None
    then_timestamp: bool = True
    """Submit a timestamp job for the item once it is sealed."""


@dataclass(frozen=True, slots=True)
class TimestampPayload:
    item_id: str


@dataclass(frozen=True, slots=True)
class AnchorBatchPayload:
    max_items: int | None = None


JobPayload = CapturePayload | TimestampPayload | AnchorBatchPayload

_PAYLOADS: Mapping[JobKind, type[CapturePayload | TimestampPayload | AnchorBatchPayload]] = {
    JobKind.CAPTURE: CapturePayload,
    JobKind.TIMESTAMP: TimestampPayload,
    JobKind.ANCHOR_BATCH: AnchorBatchPayload,
}


def payload_json(payload: JobPayload) -> str:
    """The payload as canonical JSON (sorted keys, no spaces): equal payloads, equal text."""
    return json.dumps(asdict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_payload(kind: JobKind, data: Mapping[str, Any] | str) -> JobPayload:
    """The typed payload of ``kind`` from a mapping or its JSON text; InvalidPayloadError."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidPayloadError(f"the {kind.value} job's payload is not JSON") from exc
    if not isinstance(data, Mapping):
        raise InvalidPayloadError(f"the {kind.value} job's payload must be a JSON object")
    try:
        payload = _PAYLOADS[kind](**data)
    except TypeError as exc:
        raise InvalidPayloadError(f"the {kind.value} job's payload does not fit: {exc}") from None
    _check_types(kind, payload)
    return payload


def _check_types(kind: JobKind, payload: JobPayload) -> None:
    problems: list[str] = []
    if isinstance(payload, CapturePayload):
        for name in ("case_number", "url", "officer"):
            value = getattr(payload, name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name} must be a non-empty string")
        for name in ("place", "purpose"):
            if not isinstance(getattr(payload, name), str | None):
                problems.append(f"{name} must be a string")
        if not isinstance(payload.then_timestamp, bool):
            problems.append("then_timestamp must be true or false")
    elif isinstance(payload, TimestampPayload):
        if not isinstance(payload.item_id, str) or not payload.item_id:
            problems.append("item_id must be a non-empty string")
    elif payload.max_items is not None and (
        isinstance(payload.max_items, bool)
        or not isinstance(payload.max_items, int)
        or payload.max_items < 1
    ):
        problems.append("max_items must be a positive integer")
    if problems:
        raise InvalidPayloadError(f"the {kind.value} job's payload: " + "; ".join(problems))


def settle_capture_job(session: Session, job_key: str, item_id: str, at: datetime) -> None:
    """Mark the capture job with ``job_key`` succeeded with ``item_id``, inside ``session``.

    Called by the capture service in the transaction that seals the item, so the item
    is never sealed while its job still says otherwise.
    """
    job = session.exec(select(Job).where(col(Job.idempotency_key) == job_key)).first()
    if job is None or job.status is JobStatus.SUCCEEDED:
        return
    job.status = JobStatus.SUCCEEDED
    job.result = item_id
    job.last_error = ""
    job.finished_at = at
    job.updated_at = at
    job.lease_until = None
    session.add(job)
