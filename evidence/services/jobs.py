"""Jobs for the workers, written to the database before they are published (an outbox).

``submit`` writes the job ``queued`` and commits, then publishes its id to the
broker and marks it ``published``. A broker that is down, restarted or loses the
message loses nothing: :meth:`JobService.sweep` publishes again every job still
waiting after a delay, and takes back running jobs whose worker died. A worker
runs a job with :meth:`JobService.run`: it claims the row (compare-and-set), does
the work, and records the outcome; a message delivered twice runs the job once.

A capture job's idempotency key is recorded on its item, and the item is sealed
in the same transaction that marks the job succeeded, so a retried capture job
never makes a second item and never leaves a sealed item under a running job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from evidence.model.db import as_utc
from evidence.model.errors import (
    AnchorError,
    EvidenceError,
    LifecycleError,
    StoreError,
    TimestampError,
)
from evidence.model.jobs import (
    AnchorBatchPayload,
    BrokerUnavailableError,
    CapturePayload,
    IdempotencyConflictError,
    InvalidPayloadError,
    JobNotFoundError,
    JobPayload,
    JobStateError,
    QueueSettings,
    TimestampPayload,
    TransientJobError,
    parse_payload,
    payload_json,
)
from evidence.model.tables import EvidenceItem, ItemStatus, Job, JobKind, JobStatus
from evidence.services._context import ServiceContext
from evidence.services.job_publishing import (
    CeleryPublisher,
    JobPublisher,
    drop_lease,
    holder_is_gone,
    take_lease,
    worker_identity,
)
from evidence.services.job_records import AnchorRun, JobRecord, SweepResult

if TYPE_CHECKING:
    from evidence.services.anchors import AnchorService
    from evidence.services.captures import CaptureService
    from evidence.services.timestamping import TimestampService

logger = logging.getLogger(__name__)

TRANSIENT = (TransientJobError, StoreError, TimestampError, AnchorError, OperationalError)
"""Outages a job waits out (retried with backoff): the store, the TSA, the chain, the database."""
WAITING = (JobStatus.QUEUED, JobStatus.PUBLISHED)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
ANCHOR_LEASE = "anchor_batch"
MAX_KEY_LENGTH = 200


class JobStages(Protocol):
    """The services jobs run (the Toolkit provides them, each built on first use)."""

    @property
    def captures(self) -> CaptureService: ...

    @property
    def timestamping(self) -> TimestampService: ...

    @property
    def anchors(self) -> AnchorService: ...


class JobService:
    def __init__(
        self,
        context: ServiceContext,
        stages: JobStages,
        *,
        queue: QueueSettings | None = None,
        publisher: JobPublisher | None = None,
    ) -> None:
        self._ctx = context
        self._stages = stages
        self.queue = queue or QueueSettings.from_env()
        self.publisher: JobPublisher = publisher or CeleryPublisher(self.queue)

    # -- submitting and watching ------------------------------------------------

    def submit(
        self,
        kind: JobKind | str,
        payload: JobPayload | Mapping[str, Any],
        idempotency_key: str,
        actor: str,
    ) -> JobRecord:
        """Write the job ``queued``, commit, then publish it; the same key returns the same job.

        A key submitted again with another kind or payload raises
        :class:`IdempotencyConflictError`. A broker that is down leaves the job
        ``queued`` (returned as such): the sweeper publishes it later.
        """
        kind = _kind(kind)
        typed = payload if _is_payload(payload) else parse_payload(kind, payload)  # type: ignore[arg-type]
        if not isinstance(typed, _payload_type(kind)):
            raise InvalidPayloadError(f"a {kind.value} job takes a {_payload_type(kind).__name__}")
        key = _checked_key(idempotency_key)
        text = payload_json(typed)
        now = self._ctx.clock()
        with self._ctx.session() as session:
            existing = _by_key(session, key)
            if existing is not None:
                return _same_or_conflict(existing, kind, text)
            job = Job(
                id=self._ctx.new_id(),
                kind=kind,
                payload=text,
                idempotency_key=key,
                status=JobStatus.QUEUED,
                submitted_by=actor,
                created_at=now,
                updated_at=now,
            )
            session.add(job)
            try:
                session.commit()
            except IntegrityError:  # the same key, submitted at the same moment elsewhere
                session.rollback()
                raced = _by_key(session, key)
                if raced is None:
                    raise
                return _same_or_conflict(raced, kind, text)
            job_id = job.id
        logger.info("job %s (%s) queued by %s", job_id, kind.value, actor)
        self._publish(job_id, kind)
        return self.status(job_id)

    def status(self, job_id: str) -> JobRecord:
        with self._ctx.session() as session:
            return _record(_job_row(session, job_id))

    def find(self, idempotency_key: str) -> JobRecord | None:
        """The job submitted with ``idempotency_key``, if any."""
        with self._ctx.session() as session:
            job = _by_key(session, idempotency_key)
            return None if job is None else _record(job)

    def list(
        self,
        *,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        limit: int = 100,
    ) -> list[JobRecord]:
        """Jobs newest first, optionally of one status and kind."""
        query = select(Job)
        if status is not None:
            query = query.where(col(Job.status) == status)
        if kind is not None:
            query = query.where(col(Job.kind) == kind)
        query = query.order_by(col(Job.created_at).desc(), col(Job.id).desc()).limit(limit)
        with self._ctx.session() as session:
            return [_record(job) for job in session.exec(query).all()]

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel a job no worker has started; a running or finished job is refused."""
        now = self._ctx.clock()
        with self._ctx.session() as session:
            job = _job_row(session, job_id)
            if job.status is JobStatus.CANCELLED:
                return _record(job)
            done = session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status).in_(WAITING))
                .values(status=JobStatus.CANCELLED, updated_at=now, finished_at=now)
            )
            session.commit()
            if done.rowcount != 1:  # type: ignore[attr-defined]
                session.refresh(job)
                raise JobStateError(
                    f"job {job_id} is {job.status.value}; only a job no worker has started "
                    "can be cancelled"
                )
        logger.info("job %s cancelled", job_id)
        return self.status(job_id)

    def sweep(self, older_than: timedelta | None = None) -> SweepResult:
        """Publish again what was written but never picked up, and what a dead worker held.

        Jobs ``queued``/``published`` for longer than ``older_than`` (default: the
        queue's ``sweep_after_s``) and ``running`` jobs whose lease has ended. A job
        published twice runs once: :meth:`run` claims it first.
        """
        delay = (
            older_than if older_than is not None else timedelta(seconds=self.queue.sweep_after_s)
        )
        now = self._ctx.clock()
        waiting_since = func.coalesce(col(Job.published_at), col(Job.created_at))
        with self._ctx.session() as session:
            stale = session.exec(
                select(Job).where(
                    or_(
                        col(Job.status).in_(WAITING) & (waiting_since < now - delay),
                        (col(Job.status) == JobStatus.RUNNING) & (col(Job.lease_until) < now),
                    )
                )
            ).all()
            todo = [(job.id, job.kind, job.status is JobStatus.RUNNING) for job in stale]
        republished: list[str] = []
        taken_back: list[str] = []
        failed: list[str] = []
        for job_id, kind, was_running in todo:
            if was_running and not self._take_back(job_id, now):
                continue
            (republished if self._publish(job_id, kind) else failed).append(job_id)
            if was_running:
                taken_back.append(job_id)
        if todo:
            logger.info("sweep: %d published again, %d not", len(republished), len(failed))
        return SweepResult(tuple(republished), tuple(taken_back), tuple(failed))

    # -- running (in a worker) ----------------------------------------------------

    def run(self, job_id: str) -> JobRecord:
        """Run the job in this process: claim it, do it, record the outcome.

        Finished or cancelled jobs are left alone (a message delivered twice);
        a job another live worker runs raises :class:`TransientJobError`. An
        outage raises :class:`TransientJobError` after putting the job back
        (``published``) so the worker retries it with backoff; any other
        failure marks the job ``failed`` with the reason.
        """
        claimed = self._claim(job_id)
        if claimed is None:
            self._follow_up(job_id)
            return self.status(job_id)
        try:
            result = self._do(claimed)
        except TRANSIENT as exc:
            reason = _reason(exc)
            self._put_back(job_id, reason)
            raise TransientJobError(f"job {job_id} waits for a retry: {reason}") from exc
        except EvidenceError as exc:
            self._finish(job_id, JobStatus.FAILED, error=exc.message)
            return self.status(job_id)
        except Exception as exc:  # a time limit, a bug: recorded, then raised for the worker's log
            self._finish(job_id, JobStatus.FAILED, error=_reason(exc))
            raise
        self._finish(job_id, JobStatus.SUCCEEDED, result=result)
        self._follow_up(job_id)
        return self.status(job_id)

    def anchor_due(self, max_items: int | None = None) -> AnchorRun:
        """The periodic anchoring turn: anchor what is waiting unless another worker is.

        One lease in the database lets one worker anchor at a time, so any number of
        workers and schedulers produce one transaction per batch.
        """
        holder = worker_identity()
        now = self._ctx.clock()
        until = now + timedelta(seconds=self.queue.lease_s)
        with self._ctx.session() as session:
            if not take_lease(session, ANCHOR_LEASE, holder, now, until):
                return AnchorRun(False, (), (), skipped_because="another worker is anchoring")
        try:
            batches = self._stages.anchors.anchor_pending(max_items=max_items)
        finally:
            with self._ctx.session() as session:
                drop_lease(session, ANCHOR_LEASE, holder)
        return AnchorRun(
            bool(batches),
            tuple(b.id for b in batches),
            tuple(b.transaction_hash for b in batches),
        )

    def close(self) -> None:
        close = getattr(self.publisher, "close", None)
        if close is not None:
            close()

    # -- the steps ------------------------------------------------------------------

    def _do(self, job: JobRecord) -> str:
        payload = job.payload
        if isinstance(payload, CapturePayload):
            return self._capture(job, payload)
        if isinstance(payload, TimestampPayload):
            return self._timestamp(payload)
        run = self.anchor_due(payload.max_items)
        if run.skipped_because:
            raise TransientJobError(run.skipped_because)
        return ",".join(run.batch_ids)

    def _capture(self, job: JobRecord, payload: CapturePayload) -> str:
        # Checked by key first: a retry after the seal committed must not capture again.
        with self._ctx.session() as session:
            item = _item_by_key(session, job.idempotency_key)
            if item is not None and item.status is ItemStatus.FAILED:
                raise LifecycleError(f"the capture failed (item {item.id}): {item.error}")
            if item is not None and item.status is not ItemStatus.CAPTURING:
                return item.id
        info = self._stages.captures.capture(
            payload.case_number,
            payload.url,
            officer=payload.officer,
            place=payload.place,
            purpose=payload.purpose,
            job_key=job.idempotency_key,
        )
        return info.id

    def _timestamp(self, payload: TimestampPayload) -> str:
        with self._ctx.session() as session:
            item = session.get(EvidenceItem, payload.item_id)
            if item is None:
                raise LifecycleError(f"item {payload.item_id} does not exist")
            if item.status in (ItemStatus.TIMESTAMPED, ItemStatus.ANCHORED):
                return item.id
        return self._stages.timestamping.timestamp(payload.item_id).id

    def _follow_up(self, job_id: str) -> None:
        """A sealed capture's timestamp job (idempotent: submitted again after a crash)."""
        job = self.status(job_id)
        payload = job.payload
        if (
            job.status is JobStatus.SUCCEEDED
            and isinstance(payload, CapturePayload)
            and payload.then_timestamp
            and job.result
        ):
            self.submit(
                JobKind.TIMESTAMP,
                TimestampPayload(job.result),
                f"{job.idempotency_key}/timestamp",
                job.submitted_by,
            )

    # -- the job row's transitions ------------------------------------------------

    def _publish(self, job_id: str, kind: JobKind) -> bool:
        try:
            self.publisher.publish(job_id, kind)
        except BrokerUnavailableError as exc:
            logger.warning("%s", exc.message)
            return False
        now = self._ctx.clock()
        with self._ctx.session() as session:
            session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status).in_(WAITING))
                .values(status=JobStatus.PUBLISHED, published_at=now, updated_at=now)
            )
            session.commit()
        return True

    def _claim(self, job_id: str) -> JobRecord | None:
        """Mark the job running for this process (None: nothing left to do)."""
        now = self._ctx.clock()
        with self._ctx.session() as session:
            job = _job_row(session, job_id)
            if job.status in FINISHED:
                return None
            if job.status is JobStatus.RUNNING and not _abandoned(job, now):
                raise TransientJobError(f"job {job_id} is running in worker {job.worker}")
            if job.attempts > self.queue.max_retries:
                self._give_up(session, job, now)
                return None
            claimed = session.execute(
                update(Job)
                .where(
                    col(Job.id) == job_id,
                    col(Job.status) == job.status,
                    col(Job.attempts) == job.attempts,
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempts=job.attempts + 1,
                    worker=worker_identity(),
                    started_at=now,
                    updated_at=now,
                    lease_until=now + timedelta(seconds=self.queue.lease_s),
                )
            )
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise TransientJobError(f"job {job_id} was taken by another worker")
            session.refresh(job)
            return _record(job)

    def _give_up(self, session: Session, job: Job, now: datetime) -> None:
        job.status = JobStatus.FAILED
        job.last_error = f"gave up after {job.attempts} attempts: {job.last_error}".rstrip(": ")
        job.finished_at = job.updated_at = now
        job.lease_until = None
        session.add(job)
        session.commit()

    def _take_back(self, job_id: str, now: datetime) -> bool:
        with self._ctx.session() as session:
            taken = session.execute(
                update(Job)
                .where(
                    col(Job.id) == job_id,
                    col(Job.status) == JobStatus.RUNNING,
                    col(Job.lease_until) < now,
                )
                .values(status=JobStatus.PUBLISHED, lease_until=None, updated_at=now)
            )
            session.commit()
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    def _put_back(self, job_id: str, reason: str) -> None:
        now = self._ctx.clock()
        with self._ctx.session() as session:
            session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING)
                .values(
                    status=JobStatus.PUBLISHED,
                    last_error=reason,
                    lease_until=None,
                    published_at=now,
                    updated_at=now,
                )
            )
            session.commit()

    def _finish(self, job_id: str, status: JobStatus, *, result: str = "", error: str = "") -> None:
        now = self._ctx.clock()
        with self._ctx.session() as session:
            job = _job_row(session, job_id)
            if job.status is JobStatus.SUCCEEDED:  # settled with the seal already
                job.lease_until = None
            elif job.status is JobStatus.RUNNING:
                job.status = status
                job.result = result or job.result
                job.last_error = error
                job.finished_at = now
                job.lease_until = None
            else:
                return
            job.updated_at = now
            session.add(job)
            session.commit()
        logger.info("job %s %s", job_id, status.value)


# -- rows and records -----------------------------------------------------------------


def _kind(kind: JobKind | str) -> JobKind:
    try:
        return JobKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in JobKind)
        raise InvalidPayloadError(f"no job kind {kind!r} (known: {known})") from None


def _payload_type(kind: JobKind) -> type[JobPayload]:
    return {
        JobKind.CAPTURE: CapturePayload,
        JobKind.TIMESTAMP: TimestampPayload,
        JobKind.ANCHOR_BATCH: AnchorBatchPayload,
    }[kind]


def _is_payload(value: object) -> bool:
    return isinstance(value, CapturePayload | TimestampPayload | AnchorBatchPayload)


def _checked_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidPayloadError(
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} printable characters"
        )
    return key


def _by_key(session: Session, key: str) -> Job | None:
    return session.exec(select(Job).where(col(Job.idempotency_key) == key)).first()


def _item_by_key(session: Session, key: str) -> EvidenceItem | None:
    return session.exec(select(EvidenceItem).where(col(EvidenceItem.job_key) == key)).first()


def _job_row(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    return job


def _same_or_conflict(job: Job, kind: JobKind, payload: str) -> JobRecord:
    if job.kind is not kind or job.payload != payload:
        raise IdempotencyConflictError(
            f"the idempotency key {job.idempotency_key!r} was used for job {job.id} "
            "with another kind or payload"
        )
    return _record(job)


def _abandoned(job: Job, now: datetime) -> bool:
    lease = job.lease_until
    return lease is None or as_utc(lease) < now or holder_is_gone(job.worker)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EvidenceError):
        return exc.message
    if isinstance(exc, OperationalError):
        return "the database is unavailable"
    return f"{exc.__class__.__name__}: {exc}"[:500]


def _optional(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _record(job: Job) -> JobRecord:
    return JobRecord(
        id=job.id,
        kind=job.kind,
        status=job.status,
        idempotency_key=job.idempotency_key,
        payload=parse_payload(job.kind, job.payload),
        attempts=job.attempts,
        last_error=job.last_error,
        result=job.result,
        submitted_by=job.submitted_by,
        created_at=as_utc(job.created_at),
        updated_at=as_utc(job.updated_at),
        published_at=_optional(job.published_at),
        started_at=_optional(job.started_at),
        finished_at=_optional(job.finished_at),
        worker=job.worker,
    )
