"""The Celery application: late acknowledgement, one task at a time per process, limits.

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged
  after its task returns; a worker process killed mid-task sends it back to the
  queue, and the job row (claimed, with a lease) makes the second run take over.
- ``worker_prefetch_multiplier=1``: a worker holds no more messages than it runs.
- soft and hard time limits from ``EVIDENCE_JOB_SOFT/HARD_TIME_LIMIT_S``.
- beat runs the sweeper (publishes again what the broker lost) and the anchoring
  turn (one lease: one transaction per batch however many workers there are).
"""

from __future__ import annotations

from typing import Any

from celery import Celery

import evidence


def make_app(queue: evidence.QueueSettings | None = None) -> Any:
    """A Celery application for the broker and timing of ``queue`` (default: environment)."""
    queue = queue or evidence.QueueSettings.from_env()
    app = Celery("evidence", include=["evidence.worker.tasks"])
    app.conf.update(
        broker_url=queue.broker_url,
        broker_connection_retry_on_startup=True,
        # Redis: a message taken by a worker that vanished comes back after this long;
        # longer than any task may run, so a running task is never handed out twice.
        broker_transport_options={"visibility_timeout": int(queue.lease_s) + 60},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=queue.soft_time_limit_s,
        task_time_limit=queue.hard_time_limit_s,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone="UTC",
        beat_schedule={
            "sweep": {
                "task": evidence.SWEEP_TASK,
                "schedule": queue.sweep_every_s,
                "options": {"expires": queue.sweep_every_s},
            },
            "anchor": {
                "task": evidence.ANCHOR_DUE_TASK,
                "schedule": queue.anchor_every_s,
                "options": {"expires": queue.anchor_every_s},
            },
        },
    )
    return app


app = make_app()
