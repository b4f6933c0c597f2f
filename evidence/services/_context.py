"""The plumbing every service shares: one small object, built once by the Toolkit.

Services receive this instead of each other's internals, so a service is
readable (and testable) on its own: what it may touch is exactly what is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from evidence.model import custody as custody_log
from evidence.model.config import Settings
from evidence.model.records import Clock, CustodyAction, IdFactory
from evidence.model.store import ArtifactStore, open_store


def store_for(settings: Settings, clock: Clock) -> ArtifactStore:
    """The artifact store the settings name: the local one under the data directory
    (default) or ``EVIDENCE_STORE_URL=s3://...`` with its read cache beside it."""
    return open_store(
        settings.store,
        local_root=settings.store_dir,
        cache_root=settings.home / "store-cache",
        clock=clock,
    )


SYSTEM_ACTOR_PREFIX = "system:"
"""The custody actor of an action no person answers for: ``system:<host>``."""


def system_actor() -> str:
    """The explicit actor of a toolkit action done with no officer named (a library
    caller's scheduled job): never passed off as the operating-system account."""
    return SYSTEM_ACTOR_PREFIX + custody_log.host_name()


def acting(officer: str) -> str:
    """``officer`` (an enforcement ID) when one acts, else :func:`system_actor`."""
    return officer or system_actor()


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """Settings, database, artifact store, clock, id factory and the custody writer."""

    settings: Settings
    engine: Engine
    store: ArtifactStore
    clock: Clock
    new_id: IdFactory

    @property
    def actor(self) -> str:
        """Who the custody log names for actions of this toolkit instance."""
        return self.settings.operator or custody_log.default_actor()

    def session(self) -> Session:
        return Session(self.engine)

    def custody(
        self,
        session: Session,
        action: CustodyAction,
        *,
        item_id: str | None = None,
        case_id: str | None = None,
        reason: str = "",
        hash_before: str = "",
        hash_after: str = "",
        details: dict[str, Any] | None = None,
        officer: str = "",
    ) -> None:
        """Append a custody event inside ``session``: it commits with the change it records.

        ``officer`` is the enforcement ID of the officer the action is done for: the
        event's actor is then that person, and the operating-system account and host it
        ran under are kept in ``details`` as the secondary record.
        """
        if officer:
            details = {
                **(details or {}),
                "os_user": custody_log.default_actor(),
                "host": custody_log.host_name(),
            }
        custody_log.append(
            session,
            at=self.clock(),
            new_id=self.new_id,
            actor=officer or self.actor,
            action=action,
            item_id=item_id,
            case_id=case_id,
            reason=reason,
            hash_before=hash_before,
            hash_after=hash_after,
            details=details,
        )
