"""The custody log as the services use it: lines for a report, extracts for a bundle.

Every service writes its own events through :meth:`ServiceContext.custody`,
in the transaction of the change they record; this service reads the log,
records what happens outside the toolkit, and checks the whole chain.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from evidence.model import custody as custody_log
from evidence.model.custody import LogVerification
from evidence.model.db import as_utc
from evidence.model.records import CustodyAction, CustodyLine
from evidence.model.tables import CustodyEvent, Officer
from evidence.services._context import ServiceContext
from evidence.services.cases import case_row, item_row
from evidence.services.officers import officer_row


class CustodyService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def record_custody(
        self,
        action: CustodyAction,
        *,
        item_id: str | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
        officer: str = "",
    ) -> None:
        """Log an action done outside the toolkit (e.g. an officer viewing an item).

        ``officer`` (an enforcement ID) is who did it: the event's actor.
        """
        with self._ctx.session() as session:
            case_id = None
            if item_id is not None:
                item = item_row(session, item_id)
                item_id, case_id = item.id, item.case_id
            self._ctx.custody(
                session,
                action,
                item_id=item_id,
                case_id=case_id,
                reason=reason,
                details=details,
                officer=_known_officer(session, officer),
            )
            session.commit()

    def record_output(
        self,
        action: CustodyAction,
        item_id: str,
        path: Path,
        details: dict[str, Any],
        *,
        officer: str = "",
        reason: str = "",
        hash_before: str | None = None,
    ) -> None:
        """Custody event for a file made from an item, naming the file's SHA-256.

        ``officer`` is who made it (the event's actor), ``reason`` why or for whom;
        ``hash_before`` defaults to the item's manifest digest.
        """
        digest = _file_sha256(path)
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            self._ctx.custody(
                session,
                action,
                item_id=item.id,
                case_id=item.case_id,
                reason=reason,
                hash_before=(item.manifest_sha256 or "") if hash_before is None else hash_before,
                hash_after=digest,
                details={**details, "file": path.name},
                officer=_known_officer(session, officer),
            )
            session.commit()

    def record_case_output(
        self,
        action: CustodyAction,
        case_number: str,
        path: Path,
        details: dict[str, Any],
        *,
        officer: str = "",
        reason: str = "",
    ) -> None:
        """Custody event for a file made from a whole case (case report, case bundle)."""
        digest = _file_sha256(path)
        with self._ctx.session() as session:
            case = case_row(session, case_number)
            self._ctx.custody(
                session,
                action,
                case_id=case.id,
                reason=reason,
                hash_after=digest,
                details={**details, "file": path.name, "case": case.number},
                officer=_known_officer(session, officer),
            )
            session.commit()

    def custody_lines(self, item_id: str) -> tuple[CustodyLine, ...]:
        """The item's own custody events, for the report."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            rows = session.exec(
                select(CustodyEvent)
                .where(CustodyEvent.item_id == item.id)
                .order_by(col(CustodyEvent.seq))
            ).all()
            names = _officer_names(session)
            return tuple(
                CustodyLine(
                    seq=r.seq,
                    at=as_utc(r.at),
                    # The person, by name and enforcement ID, when the actor is an officer.
                    actor=names.get(r.actor, r.actor),
                    action=r.action,
                    reason=r.reason,
                    hash_after=r.hash_after,
                    details=r.details,
                )
                for r in rows
            )

    def custody_extract(self, item_id: str) -> bytes:
        """The bundle's custody extract: from the item's first event to the head."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            first = session.exec(
                select(CustodyEvent.seq)
                .where(CustodyEvent.item_id == item.id)
                .order_by(col(CustodyEvent.seq))
            ).first()
            if first is None:
                return b""
            events = session.exec(
                select(CustodyEvent)
                .where(col(CustodyEvent.seq) >= first)
                .order_by(col(CustodyEvent.seq))
            ).all()
            lines = custody_log.extract_lines(events, item_id=item.id, case_id=item.case_id)
        return b"\n".join(lines) + b"\n"

    def verify_custody_log(self) -> LogVerification:
        """Re-check the whole hash-chained custody log; names the first bad event."""
        with self._ctx.session() as session:
            return custody_log.verify_chain(custody_log.load_all(session))


def _file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _known_officer(session: Session, enforcement_id: str) -> str:
    """The enforcement ID of an existing officer (normalised); "" for none.

    An unknown ID is refused: the custody log must not name a person who is not one.
    """
    if not enforcement_id.strip():
        return ""
    return officer_row(session, enforcement_id).enforcement_id


def _officer_names(session: Session) -> dict[str, str]:
    """Enforcement ID -> "name（ID）" for every officer, for custody lines."""
    return {
        o.enforcement_id: f"{o.name}（{o.enforcement_id}）"
        for o in session.exec(select(Officer)).all()
    }
