"""The custody log as the services use it: lines for a report, extracts for a bundle.

Every service writes its own events through :meth:`ServiceContext.custody`,
in the transaction of the change they record; this service reads the log,
records what happens outside the toolkit, and checks the whole chain.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from evidence.model import custody as custody_log
from evidence.model.custody import LogVerification
from evidence.model.db import as_utc
from evidence.model.records import CustodyAction, CustodyLine
from evidence.model.tables import CustodyEvent
from evidence.services._context import ServiceContext
from evidence.services.cases import item_row


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
    ) -> None:
        """Log an action done outside the toolkit (e.g. an expert viewing an item)."""
        with self._ctx.session() as session:
            case_id = None
            if item_id is not None:
                item = item_row(session, item_id)
                item_id, case_id = item.id, item.case_id
            self._ctx.custody(
                session, action, item_id=item_id, case_id=case_id, reason=reason, details=details
            )
            session.commit()

    def record_output(
        self, action: CustodyAction, item_id: str, path: Path, details: dict[str, Any]
    ) -> None:
        """Custody event for a file made from an item, naming the file's SHA-256."""
        with path.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            self._ctx.custody(
                session,
                action,
                item_id=item.id,
                case_id=item.case_id,
                hash_before=item.manifest_sha256 or "",
                hash_after=digest,
                details={**details, "file": path.name},
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
            return tuple(
                CustodyLine(
                    seq=r.seq,
                    at=as_utc(r.at),
                    actor=r.actor,
                    action=r.action,
                    reason=r.reason,
                    hash_after=r.hash_after,
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
