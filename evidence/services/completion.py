"""Completing sealed items: the timestamp and anchor they still owe, tolerating outages.

A stage that depends on an outside service (the TSA, the chain) never undoes
an earlier one: an item whose TSA or chain is down stays sealed (or
timestamped), and the result says, one line per stage, what is still owed.

Who completes an item is its custody actor: the officer named, or, when the
toolkit completes an item on its own right after the capture, the capture's
acting officer.
"""

from __future__ import annotations

from evidence.model.errors import EvidenceError
from evidence.model.tables import ItemStatus, Officer
from evidence.services._context import ServiceContext
from evidence.services.anchors import AnchorService
from evidence.services.cases import CaseService, item_row
from evidence.services.results import CompletionResult
from evidence.services.timestamping import TimestampService


class CompletionService:
    def __init__(
        self,
        context: ServiceContext,
        cases: CaseService,
        timestamping: TimestampService,
        anchors: AnchorService,
    ) -> None:
        self._ctx = context
        self._cases = cases
        self._timestamping = timestamping
        self._anchors = anchors

    def complete(self, item_id: str, *, officer: str | None = None) -> CompletionResult:
        """Do whatever the item still owes (timestamp, anchor), tolerating outages.

        ``officer`` (an enforcement ID) completes it; None: the officer who captured
        it (the toolkit completing a capture it just made).
        """
        pending: list[str] = []
        info = self._cases.get_item(item_id)
        actor = self._capturing_officer(info.id) if officer is None else officer
        if info.status is ItemStatus.SEALED:
            try:
                info = self._timestamping.timestamp(item_id, officer=actor)
            except EvidenceError as exc:
                pending.append(f"timestamp: {exc.message}")
        if info.status is ItemStatus.TIMESTAMPED:
            try:
                info = self._anchors.anchor(item_id, officer=actor)
            except EvidenceError as exc:
                pending.append(f"anchor: {exc.message}")
        elif info.status is ItemStatus.SEALED:
            pending.append("anchor: waits for the timestamp")
        return CompletionResult(item=self._cases.get_item(item_id), pending=tuple(pending))

    def complete_pending(self, *, officer: str | None = None) -> list[CompletionResult]:
        """Timestamp every sealed item, then anchor everything waiting in batches.

        ``officer`` is the custody actor of all of it; None: each item's capturing
        officer for its timestamp, and the system actor for the shared batches.
        """
        owed: dict[str, list[str]] = {}
        for item in self._cases.pending_items():
            owed[item.id] = []
            if item.status is ItemStatus.SEALED:
                actor = self._capturing_officer(item.id) if officer is None else officer
                try:
                    self._timestamping.timestamp(item.id, officer=actor)
                except EvidenceError as exc:
                    owed[item.id].append(f"timestamp: {exc.message}")
        anchor_error = ""
        try:
            self._anchors.anchor_pending(officer=officer or "")
        except EvidenceError as exc:
            anchor_error = exc.message
        results: list[CompletionResult] = []
        for item_id, pending in owed.items():
            info = self._cases.get_item(item_id)
            if info.status is ItemStatus.TIMESTAMPED:
                pending.append(f"anchor: {anchor_error or 'not anchored yet'}")
            elif info.status is ItemStatus.SEALED:
                pending.append("anchor: waits for the timestamp")
            results.append(CompletionResult(item=info, pending=tuple(pending)))
        return results

    def _capturing_officer(self, item_id: str) -> str:
        """The enforcement ID of the officer who captured the item ("" for an item
        captured before captures named their officer: the system actor then)."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            officer = session.get(Officer, item.officer_id) if item.officer_id else None
            return officer.enforcement_id if officer is not None else ""
