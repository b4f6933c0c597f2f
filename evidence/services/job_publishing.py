"""Handing jobs to the broker, and the named leases workers take in the database.

The publisher sends a job's id to the broker under its kind's task name with a
short-lived Celery client: nothing of the worker is imported, and Celery itself
is imported only when something is published (``evidence --help`` stays light).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from evidence.model.jobs import TASK_NAMES, BrokerUnavailableError, QueueSettings
from evidence.model.tables import JobKind, JobLease

logger = logging.getLogger(__name__)


class JobPublisher(Protocol):
    """Sends one job id to the workers; :class:`BrokerUnavailableError` if it cannot."""

    def publish(self, job_id: str, kind: JobKind) -> None: ...


class CeleryPublisher:
    """Publishes to the broker of ``QueueSettings.broker_url`` (Redis or RabbitMQ)."""

    def __init__(self, settings: QueueSettings) -> None:
        self._settings = settings
        self._app: Any = None

    def client(self) -> Any:
        """The Celery client this publisher sends with (created on first use)."""
        if self._app is None:
            from celery import Celery

            app = Celery("evidence-publisher", set_as_current=False)
            app.conf.broker_url = self._settings.broker_url
            app.conf.broker_connection_timeout = 3
            app.conf.broker_connection_retry_on_startup = False
            self._app = app
        return self._app

    def publish(self, job_id: str, kind: JobKind) -> None:
        try:
            self.client().send_task(
                TASK_NAMES[kind],
                args=[job_id],
                retry=True,
                retry_policy={
                    "max_retries": 2,
                    "interval_start": 0.1,
                    "interval_step": 0.2,
                    "interval_max": 0.5,
                },
            )
        except Exception as exc:  # kombu/redis/amqp raise their own types; none is a bug here
            # The class name only: a connection error's text can carry the broker URL.
            raise BrokerUnavailableError(
                f"the broker did not take job {job_id} ({exc.__class__.__name__}); "
                "it stays queued and the sweeper publishes it again"
            ) from None

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


def worker_identity() -> str:
    """``host:pid`` of this process: who holds a running job or a lease."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str) -> bool:
    """True when ``holder`` names a process on this host that no longer exists.

    A worker killed outright leaves its job ``running``; on its own host the job
    can be taken over at once instead of waiting for the lease to end.
    """
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # this process is not running it: an earlier attempt here gave it up
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def take_lease(session: Session, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Take the lease ``name`` until ``until`` if nobody holds it (or theirs expired).

    Atomic on SQLite and PostgreSQL: a new lease is an insert of its primary key
    (a second insert fails), an expired one is taken by a conditional update.
    """
    row = session.get(JobLease, name)
    if row is None:
        session.add(JobLease(name=name, holder=holder, expires_at=until))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True
    session.rollback()
    taken = session.execute(
        update(JobLease)
        .where(col(JobLease.name) == name, col(JobLease.expires_at) < now)
        .values(holder=holder, expires_at=until)
    )
    session.commit()
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def drop_lease(session: Session, name: str, holder: str) -> None:
    """Give the lease back (only if ``holder`` still holds it)."""
    session.execute(
        delete(JobLease).where(col(JobLease.name) == name, col(JobLease.holder) == holder)
    )
    session.commit()
