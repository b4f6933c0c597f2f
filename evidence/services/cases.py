"""Cases and their evidence items: create, look up, list and find.

The row lookups (:func:`case_row`, :func:`item_row`, :func:`item_info`) are
public because every other service resolves cases and items the same way,
with the same messages for an unknown case or an ambiguous item id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from evidence.model.db import as_utc
from evidence.model.errors import EvidenceError, NotFoundError
from evidence.model.records import CustodyAction
from evidence.model.tables import (
    AnchorRecord,
    Artifact,
    Case,
    EvidenceItem,
    ItemStatus,
    TimestampRecord,
)
from evidence.services._context import ServiceContext
from evidence.services._rows import receipt_from_row, token_from_row
from evidence.services.results import CaseInfo, ItemInfo


def case_row(session: Session, number: str) -> Case:
    case = session.exec(select(Case).where(Case.number == number)).first()
    if case is None:
        raise NotFoundError(f"no case numbered {number!r}; create it with 'evidence case create'")
    return case


def item_row(session: Session, item_id: str) -> EvidenceItem:
    """The item whose id is ``item_id`` or starts with it (at least 4 characters)."""
    item_id = item_id.strip()
    if len(item_id) < 4:
        raise NotFoundError(f"item id {item_id!r} is too short; give at least 4 characters")
    matches = session.exec(
        select(EvidenceItem).where(col(EvidenceItem.id).startswith(item_id))
    ).all()
    if not matches:
        raise NotFoundError(f"no evidence item {item_id!r}")
    if len(matches) > 1:
        raise NotFoundError(f"item id {item_id!r} is ambiguous; give more characters")
    return matches[0]


def artifact_rows(session: Session, item_id: str) -> list[Artifact]:
    """The item's artifacts, sorted by name (the manifest's order)."""
    return list(
        session.exec(
            select(Artifact).where(Artifact.item_id == item_id).order_by(col(Artifact.name))
        ).all()
    )


def case_info(case: Case) -> CaseInfo:
    return CaseInfo(
        id=case.id,
        number=case.number,
        title=case.title,
        cause=case.cause,
        agency=case.agency,
        officers=tuple(o for o in case.officers.splitlines() if o),
        created_at=as_utc(case.created_at),
        place=case.place,
        purpose=case.purpose,
    )


def item_info(session: Session, item: EvidenceItem) -> ItemInfo:
    """The item as a record, with its first token and its current (not superseded) anchor."""
    case = session.get(Case, item.case_id)
    assert case is not None
    ts = session.exec(select(TimestampRecord).where(TimestampRecord.item_id == item.id)).first()
    an = session.exec(
        select(AnchorRecord).where(
            AnchorRecord.item_id == item.id, AnchorRecord.superseded_by == ""
        )
    ).first()
    return ItemInfo(
        id=item.id,
        case_number=case.number,
        status=ItemStatus(item.status),
        requested_url=item.requested_url,
        final_url=item.final_url,
        page_title=item.page_title,
        created_at=as_utc(item.created_at),
        sealed_at=as_utc(item.sealed_at) if item.sealed_at else None,
        manifest_sha256=item.manifest_sha256,
        manifest_sm3=item.manifest_sm3,
        timestamp=token_from_row(ts) if ts else None,
        anchor=receipt_from_row(an, item.manifest_sha256 or "") if an else None,
        error=item.error,
    )


class CaseService:
    """Cases, items and queries over them."""

    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def create_case(
        self,
        number: str,
        title: str,
        *,
        cause: str = "",
        agency: str = "",
        officers: Sequence[str] = (),
        exist_ok: bool = False,
        place: str = "",
        purpose: str = "",
    ) -> CaseInfo:
        """Create case ``number``; ``place`` and ``purpose`` (地点, 目的) are what its
        captures record unless a capture gives its own."""
        number = number.strip()
        if not number:
            raise ValueError("a case needs a case number")
        with self._ctx.session() as session:
            existing = session.exec(select(Case).where(Case.number == number)).first()
            if existing is not None:
                if exist_ok:
                    return case_info(existing)
                raise EvidenceError(f"case {number} already exists")
            case = Case(
                id=self._ctx.new_id(),
                number=number,
                title=title,
                cause=cause,
                agency=agency,
                officers="\n".join(o.strip() for o in officers if o.strip()),
                created_at=self._ctx.clock(),
                place=place.strip(),
                purpose=purpose.strip(),
            )
            session.add(case)
            session.flush()
            self._ctx.custody(
                session, CustodyAction.CASE_CREATE, case_id=case.id,
                details={"number": number, "title": title, "cause": cause,
                         "place": place.strip(), "purpose": purpose.strip()},
            )  # fmt: skip
            session.commit()
            session.refresh(case)
            return case_info(case)

    def get_case(self, number: str) -> CaseInfo:
        with self._ctx.session() as session:
            return case_info(case_row(session, number))

    def list_cases(self) -> list[CaseInfo]:
        with self._ctx.session() as session:
            cases = session.exec(select(Case).order_by(col(Case.created_at))).all()
            return [case_info(c) for c in cases]

    def get_item(self, item_id: str) -> ItemInfo:
        with self._ctx.session() as session:
            return item_info(session, item_row(session, item_id))

    def list_items(self, case_number: str | None = None) -> list[ItemInfo]:
        with self._ctx.session() as session:
            query = select(EvidenceItem).order_by(col(EvidenceItem.created_at))
            if case_number is not None:
                query = query.where(EvidenceItem.case_id == case_row(session, case_number).id)
            return [item_info(session, item) for item in session.exec(query).all()]

    def pending_items(self) -> list[ItemInfo]:
        """Sealed items still owed a timestamp or an anchor."""
        return [
            item
            for item in self.list_items()
            if item.status in (ItemStatus.SEALED, ItemStatus.TIMESTAMPED)
        ]

    def find_items(
        self,
        *,
        case_number: str | None = None,
        sha256: str | None = None,
        url: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ItemInfo]:
        """Items matching every given criterion.

        ``sha256`` matches an item's manifest digest or any of its artifacts';
        ``url`` matches the requested or the final URL exactly; times bound the
        capture's creation time (inclusive).
        """
        if sha256 is not None:
            sha256 = sha256.strip().lower().removeprefix("0x")
            if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
                raise ValueError("a SHA-256 is 64 hexadecimal digits")
        with self._ctx.session() as session:
            query = select(EvidenceItem)
            if case_number is not None:
                case = session.exec(select(Case).where(Case.number == case_number)).first()
                if case is None:
                    return []
                query = query.where(EvidenceItem.case_id == case.id)
            if sha256 is not None:
                by_artifact = select(Artifact.item_id).where(Artifact.sha256 == sha256)
                query = query.where(
                    (col(EvidenceItem.manifest_sha256) == sha256)
                    | col(EvidenceItem.id).in_(by_artifact)
                )
            if url is not None:
                query = query.where(
                    (col(EvidenceItem.requested_url) == url) | (col(EvidenceItem.final_url) == url)
                )
            if since is not None:
                query = query.where(col(EvidenceItem.created_at) >= as_utc(since))
            if until is not None:
                query = query.where(col(EvidenceItem.created_at) <= as_utc(until))
            items = session.exec(query.order_by(col(EvidenceItem.created_at))).all()
            return [item_info(session, item) for item in items]
