"""Completing sealed items: the timestamp and anchor they still owe, tolerating outages.

A stage that depends on an outside service (the TSA, the chain) never undoes
an earlier one: an item whose TSA or chain is down stays sealed (or
timestamped), and the result says, one line per stage, what is still owed.
"""

from __future__ import annotations

from evidence.model.errors import EvidenceError
from evidence.model.tables import ItemStatus
from evidence.services.anchors import AnchorService
from evidence.services.cases import CaseService
from evidence.services.results import CompletionResult
from evidence.services.timestamping import TimestampService


class CompletionService:
    def __init__(
        self, cases: CaseService, timestamping: TimestampService, anchors: AnchorService
    ) -> None:
        self._cases = cases
        self._timestamping = timestamping
        self._anchors = anchors

    def complete(self, item_id: str) -> CompletionResult:
        """Do whatever the item still owes (timestamp, anchor), tolerating outages."""
        pending: list[str] = []
        info = self._cases.get_item(item_id)
        if info.status is ItemStatus.SEALED:
            try:
                info = self._timestamping.timestamp(item_id)
            except EvidenceError as exc:
                pending.append(f"timestamp: {exc.message}")
        if info.status is ItemStatus.TIMESTAMPED:
            try:
                info = self._anchors.anchor(item_id)
            except EvidenceError as exc:
                pending.append(f"anchor: {exc.message}")
        elif info.status is ItemStatus.SEALED:
            pending.append("anchor: waits for the timestamp")
        return CompletionResult(item=self._cases.get_item(item_id), pending=tuple(pending))

    def complete_pending(self) -> list[CompletionResult]:
        """Timestamp every sealed item, then anchor everything waiting in batches."""
        owed: dict[str, list[str]] = {}
        for item in self._cases.pending_items():
            owed[item.id] = []
            if item.status is ItemStatus.SEALED:
                try:
                    self._timestamping.timestamp(item.id)
                except EvidenceError as exc:
                    owed[item.id].append(f"timestamp: {exc.message}")
        anchor_error = ""
        try:
            self._anchors.anchor_pending()
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
