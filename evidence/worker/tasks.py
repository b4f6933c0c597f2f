"""The tasks: each hands a job id to the facade, which claims, runs and records it.

Tasks stay thin: what a job does, and what makes it safe to run twice, is in
``evidence/services/jobs.py``. An outage raises ``TransientJobError`` there, and the
task is retried with exponential backoff (jittered, capped) up to ``max_retries``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

import evidence
from evidence.worker.app import app

logger = logging.getLogger(__name__)

_QUEUE = evidence.QueueSettings.from_env()
_state: dict[str, Any] = {}


def toolkit() -> Any:
    """This worker process's toolkit (one per process, opened on first use after fork)."""
    kit = _state.get("kit")
    if kit is None:
        kit = evidence.Toolkit()
        _state["kit"] = kit
    return kit


def _forget_toolkit(**_: Any) -> None:
    # A forked pool process must not share its parent's database connections.
    _state.pop("kit", None)


def _close_toolkit(**_: Any) -> None:
    kit = _state.pop("kit", None)
    if kit is not None:
        kit.close()


signals.worker_process_init.connect(_forget_toolkit, weak=False)
signals.worker_process_shutdown.connect(_close_toolkit, weak=False)

_RETRYING: dict[str, Any] = {
    "bind": True,
    "autoretry_for": (evidence.TransientJobError,),
    "retry_backoff": True,
    "retry_backoff_max": int(_QUEUE.retry_backoff_max_s),
    "retry_jitter": True,
    "max_retries": _QUEUE.max_retries,
}


def run_job(task: Any, job_id: str) -> str:
    """Run one job; its status afterwards (``succeeded``, ``failed``, ...)."""
    record = toolkit().jobs.run(job_id)
    logger.info("job %s (%s): %s", job_id, record.kind.value, record.status.value)
    return str(record.status.value)


def sweep() -> list[str]:
    """Publish again the jobs the broker lost or a dead worker held."""
    return list(toolkit().jobs.sweep().republished)


def anchor_due() -> list[str]:
    """The periodic anchoring turn (skipped while another worker anchors)."""
    run = toolkit().jobs.anchor_due()
    if run.skipped_because:
        logger.info("anchoring skipped: %s", run.skipped_because)
    return list(run.transaction_hashes)


capture = app.task(name=evidence.TASK_NAMES[evidence.JobKind.CAPTURE], **_RETRYING)(run_job)
timestamp = app.task(name=evidence.TASK_NAMES[evidence.JobKind.TIMESTAMP], **_RETRYING)(run_job)
anchor_batch = app.task(name=evidence.TASK_NAMES[evidence.JobKind.ANCHOR_BATCH], **_RETRYING)(
    run_job
)
sweeper = app.task(name=evidence.SWEEP_TASK)(sweep)
anchoring = app.task(name=evidence.ANCHOR_DUE_TASK)(anchor_due)
