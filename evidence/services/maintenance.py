"""Recovery after a crash (``evidence doctor``).

The rules for "what a crash can leave behind" are in one place:

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

from sqlmodel import Session, col, select

from evidence.model import custody
from evidence.model.errors import EvidenceError
from evidence.model.records import CustodyAction
from evidence.model.tables import AnchorBatch, Artifact, EvidenceItem, ItemStatus
from evidence.services._context import ServiceContext
from evidence.services.results import NEEDS_ATTENTION, DoctorFinding, DoctorReport

logger = logging.getLogger(__name__)

_SEALED = (ItemStatus.SEALED, ItemStatus.TIMESTAMPED, ItemStatus.ANCHORED)


class MaintenanceService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def doctor(self, *, deep: bool = False, actor: str | None = None) -> DoctorReport:
        """Find and settle what a crash left behind; never deletes evidence."""
        findings: list[DoctorFinding] = []
        with self._ctx.session() as session:
            findings += self._fail_interrupted_captures(session, actor or custody.default_actor())
            findings += _interrupt_pending_batches(session)
            session.commit()
        findings += self._remove_partial_writes()
        with self._ctx.session() as session:
            checked, missing = self._check_sealed_items(session, deep=deep)
            findings += missing
            log = custody.verify_chain(custody.load_all(session))
            if not log.ok and log.first_problem is not None:
                p = log.first_problem
                findings.append(DoctorFinding(f"custody event {p.seq}", p.problem, NEEDS_ATTENTION))
        return DoctorReport(tuple(findings), checked, log.ok)

    def _fail_interrupted_captures(self, session: Session, who: str) -> list[DoctorFinding]:
        findings: list[DoctorFinding] = []
        interrupted = session.exec(
            select(EvidenceItem).where(EvidenceItem.status == ItemStatus.CAPTURING)
        ).all()
        for item in interrupted:
            workdir = self._ctx.settings.work_dir / item.id
            kept = f"working files kept in {workdir}" if workdir.exists() else "no working files"
            item.status = ItemStatus.FAILED
            item.error = f"capture interrupted before sealing; {kept}"
            session.add(item)
            custody.append(
                session,
                at=self._ctx.clock(),
                new_id=self._ctx.new_id,
                actor=who,
                action=CustodyAction.DOCTOR_MARK_FAILED,
                item_id=item.id,
                case_id=item.case_id,
                reason=item.error,
            )
            findings.append(
                DoctorFinding(
                    f"item {item.id}", "capture was interrupted", f"marked failed; {kept}"
                )
            )
        return findings

    def _remove_partial_writes(self) -> list[DoctorFinding]:
        findings: list[DoctorFinding] = []
        tmp_dir = self._ctx.store.root / "tmp"
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
        return findings

    def _check_sealed_items(
        self, session: Session, *, deep: bool
    ) -> tuple[int, list[DoctorFinding]]:
        """How many sealed items were checked, and each stored object missing or damaged."""
        findings: list[DoctorFinding] = []
        sealed = session.exec(
            select(EvidenceItem).where(col(EvidenceItem.status).in_(_SEALED))
        ).all()
        for item in sealed:
            digests = [
                a.sha256
                for a in session.exec(select(Artifact).where(Artifact.item_id == item.id)).all()
            ]
            if item.manifest_sha256:
                digests.append(item.manifest_sha256)
            for digest in digests:
                try:
                    if deep:
                        self._ctx.store.verify(digest)
                    elif not self._ctx.store.contains(digest):
                        raise EvidenceError(f"object {digest} is missing from the store")
                except EvidenceError as exc:
                    findings.append(DoctorFinding(f"item {item.id}", exc.message, NEEDS_ATTENTION))
        return len(sealed), findings


def _interrupt_pending_batches(session: Session) -> list[DoctorFinding]:
    findings: list[DoctorFinding] = []
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
    return findings
