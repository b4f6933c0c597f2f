"""Recovery after a crash (``evidence doctor``).

The rules for "what a crash can leave behind" are in one place:

* an item in ``capturing`` was interrupted before sealing: it is closed as
  ``failed`` with its working files kept where they are (never deleted), by an
  officer for a reason (the custody actor and reason; from the command line
  both are required, and nothing is changed without them);
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
from evidence.services._context import ServiceContext, acting
from evidence.services.acting import acting_officer, required_reason
from evidence.services.results import NEEDS_ATTENTION, DoctorFinding, DoctorReport

logger = logging.getLogger(__name__)

_SEALED = (ItemStatus.SEALED, ItemStatus.TIMESTAMPED, ItemStatus.ANCHORED)


class MaintenanceService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def doctor(
        self,
        *,
        deep: bool = False,
        officer: str | None = None,
        reason: str = "",
        attribution_required: bool = False,
    ) -> DoctorReport:
        """Find and settle what a crash left behind; never deletes evidence.

        Interrupted captures are closed as failed by ``officer`` for ``reason``.
        With ``attribution_required`` (the command line) both must be given when
        there is one to close, else nothing at all is changed; without it an
        unnamed officer is the explicit system actor (a library caller's recovery).
        """
        closing = self._closing(officer, reason, attribution_required=attribution_required)
        findings: list[DoctorFinding] = []
        with self._ctx.session() as session:
            findings += self._fail_interrupted_captures(session, closing)
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

    def _closing(
        self, officer: str | None, reason: str, *, attribution_required: bool
    ) -> tuple[str, str]:
        """Who closes interrupted captures and why; refused up front when required."""
        with self._ctx.session() as session:
            count = len(_interrupted(session))
        if not count or not attribution_required:
            return (officer or "").strip(), reason.strip()
        what = f"closing {count} interrupted capture(s) as failed"
        why = required_reason(reason, what)
        return acting_officer(self._ctx, officer), why

    def _fail_interrupted_captures(
        self, session: Session, closing: tuple[str, str]
    ) -> list[DoctorFinding]:
        officer, why = closing
        findings: list[DoctorFinding] = []
        for item in _interrupted(session):
            workdir = self._ctx.settings.work_dir / item.id
            kept = f"working files kept in {workdir}" if workdir.exists() else "no working files"
            item.status = ItemStatus.FAILED
            item.error = f"capture interrupted before sealing; {kept}"
            session.add(item)
            self._ctx.custody(
                session,
                CustodyAction.DOCTOR_MARK_FAILED,
                item_id=item.id,
                case_id=item.case_id,
                reason=why or item.error,
                details={"finding": item.error},
                officer=acting(officer),
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


def _interrupted(session: Session) -> list[EvidenceItem]:
    """Items left ``capturing``: a capture interrupted before it was sealed."""
    return list(
        session.exec(select(EvidenceItem).where(EvidenceItem.status == ItemStatus.CAPTURING))
    )


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
