"""What the jobs service hands back: typed, frozen records, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from evidence.model.jobs import JobPayload
from evidence.model.tables import JobKind, JobStatus


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One worker job as the database holds it now."""

    id: str
    kind: JobKind
    status: JobStatus
    idempotency_key: str
    payload: JobPayload
    attempts: int
    last_error: str
    result: str
    """A capture's or timestamp's item id; an anchor batch's batch ids, comma-separated."""
    submitted_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep published again: jobs never picked up, and jobs whose worker died."""

    republished: tuple[str, ...]
    taken_back: tuple[str, ...]
    """Of those, the running jobs whose lease had ended (their worker is gone)."""
    failed_to_publish: tuple[str, ...]
    """Jobs the broker would not take this time (they stay for the next sweep)."""


@dataclass(frozen=True, slots=True)
class AnchorRun:
    """One periodic anchoring turn: the batches it anchored, or why it did nothing."""

    anchored: bool
    batch_ids: tuple[str, ...]
    transaction_hashes: tuple[str, ...]
    skipped_because: str = ""
    """Non-empty when another worker held the anchoring lease."""
