"""Recovery after a crash (``evidence doctor``), the custody log, and queries.

Kept apart from the facade's capture path so the rules for "what a crash can
leave behind" are in one place:

* an item in ``capturing`` was interrupted before sealing: it becomes
  ``failed`` with its working files kept where they are (never deleted);
* ``store/tmp/incoming-*`` files are partial copies from an interrupted write
  whose source is still in the working directory: they are removed, and the
  report says so;
* an anchor batch left ``pending`` was interrupted around its transaction: it is
  marked ``interrupted``; its items are still ``timestamped`` and go into the next
  batch (a root the chain already holds is adopted, not anchored twice);
* every sealed item's artifacts and manifest must be in the store with their
  recorded digests (``deep`` re-hashes them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from evidence.model import custody
from evidence.model.db import as_utc
from evidence.model.errors import EvidenceError
from evidence.model.tables import AnchorBatch, Artifact, Case, EvidenceItem, ItemStatus

if TYPE_CHECKING:
    from evidence.services.toolkit import ItemInfo, Toolkit

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DoctorFinding:
    subject: str
    problem: str
    action: str


@dataclass(frozen=True, slots=True)
class DoctorReport:
    findings: tuple[DoctorFinding, ...]
    items_checked: int
    log_ok: bool

    @property
    def healthy(self) -> bool:
        return self.log_ok and not any(f.action == "needs attention" for f in self.findings)


def doctor(kit: Toolkit, *, deep: bool = False, actor: str | None = None) -> DoctorReport:
    findings: list[DoctorFinding] = []
    who = actor or custody.default_actor()
    with Session(kit.engine) as session:
        interrupted = session.exec(
            select(EvidenceItem).where(EvidenceItem.status == ItemStatus.CAPTURING)
        ).all()
        for item in interrupted:
            workdir = kit.settings.work_dir / item.id
            kept = f"working files kept in {workdir}" if workdir.exists() else "no working files"
            item.status = ItemStatus.FAILED
            item.error = f"capture interrupted before sealing; {kept}"
            session.add(item)
            custody.append(
                session,
                at=kit.clock(),
                new_id=kit.new_id,
                actor=who,
                action="doctor.mark-failed",
                item_id=item.id,
                case_id=item.case_id,
                reason=item.error,
            )
            findings.append(
                DoctorFinding(
                    f"item {item.id}", "capture was interrupted", f"marked failed; {kept}"
                )
            )
        for batch in session.exec(select(AnchorBatch).where(AnchorBatch.status == "pending")).all():
            batch.status = "interrupted"
            batch.error = "interrupted around its transaction; items are re-batched"
            session.add(batch)
            findings.append(
                DoctorFinding(
                    f"anchor batch {batch.id}",
                    "left pending",
                    "marked interrupted; its items will be re-anchored",
                )
            )
        session.commit()

    tmp_dir = kit.store.root / "tmp"
    for partial in sorted(tmp_dir.glob("incoming-*")) if tmp_dir.exists() else []:
        size = partial.stat().st_size
        partial.unlink()
        findings.append(
            DoctorFinding(
                str(partial),
                f"partial store write ({size} bytes)",
                "removed: the source is still in its working directory",
            )
        )

    checked = 0
    with Session(kit.engine) as session:
        sealed = session.exec(
            select(EvidenceItem).where(
                col(EvidenceItem.status).in_(
                    [ItemStatus.SEALED, ItemStatus.TIMESTAMPED, ItemStatus.ANCHORED]
                )
            )
        ).all()
        for item in sealed:
            checked += 1
            digests = [
                a.sha256
                for a in session.exec(select(Artifact).where(Artifact.item_id == item.id)).all()
            ]
            if item.manifest_sha256:
                digests.append(item.manifest_sha256)
            for digest in digests:
                try:
                    if deep:
                        kit.store.verify(digest)
                    elif not kit.store.contains(digest):
                        raise EvidenceError(f"object {digest} is missing from the store")
                except EvidenceError as exc:
                    findings.append(
                        DoctorFinding(f"item {item.id}", exc.message, "needs attention")
                    )
        log = custody.verify_chain(custody.load_all(session))
        if not log.ok and log.first_problem is not None:
            p = log.first_problem
            findings.append(DoctorFinding(f"custody event {p.seq}", p.problem, "needs attention"))
    return DoctorReport(tuple(findings), checked, log.ok)


def verify_log(kit: Toolkit) -> custody.LogVerification:
    with Session(kit.engine) as session:
        return custody.verify_chain(custody.load_all(session))


def find_items(
    kit: Toolkit,
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
    with Session(kit.engine) as session:
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
        return [kit._item_info(session, item) for item in items]


def workdir_of(kit: Toolkit, item_id: str) -> Path:
    return kit.settings.work_dir / item_id
