"""What the services hand back: typed, frozen records, never rows or dicts.

Database rows stay inside a service's session; a caller gets these records,
so nothing it holds can lazily load or write to the database behind it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evidence.model.records import AnchorReceipt, TimestampToken
from evidence.model.tables import ItemStatus


@dataclass(frozen=True, slots=True)
class CaseInfo:
    id: str
    number: str
    title: str
    cause: str
    agency: str
    officers: tuple[str, ...]
    created_at: datetime
    place: str = ""
    """地点: where the case's captures are made unless a capture says otherwise."""
    purpose: str = ""
    """目的: why the case's captures are made unless a capture says otherwise."""


@dataclass(frozen=True, slots=True)
class CaptureCircumstances:
    """Who performs a capture, where and why, as the caller gave them.

    ``None`` takes the default: this operating-system account's default officer,
    the case's place and purpose.
    """

    officer: str | None = None
    """The acting officer's enforcement ID (执法证号)."""
    place: str | None = None
    """地点."""
    purpose: str | None = None
    """目的."""


@dataclass(frozen=True, slots=True)
class ItemInfo:
    id: str
    case_number: str
    status: ItemStatus
    requested_url: str
    final_url: str
    page_title: str
    created_at: datetime
    sealed_at: datetime | None
    manifest_sha256: str | None
    manifest_sm3: str | None
    timestamp: TimestampToken | None
    anchor: AnchorReceipt | None
    error: str


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """One anchoring transaction and the items whose digests it carries."""

    id: str
    root: str
    item_ids: tuple[str, ...]
    transaction_hash: str
    block_number: int
    chain_id: int


@dataclass(frozen=True, slots=True)
class CompletionResult:
    """What completing one item achieved, and what it still owes."""

    item: ItemInfo
    pending: tuple[str, ...]
    """One line per stage that could not be done now (e.g. the TSA was unreachable)."""


@dataclass(frozen=True, slots=True)
class BatchCaptureResult:
    """The outcome for one URL of a batch capture."""

    url: str
    item: ItemInfo | None
    error: str | None = None
    skipped: bool = False
    """True when an earlier run already sealed this URL (resumed batch)."""


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """A whole batch capture from a URL list, after completion of its new items."""

    results: tuple[BatchCaptureResult, ...]
    state_path: Path
    """Where resume progress is kept: a re-run with the same case and list skips what is sealed."""
    captured: int
    skipped: int
    failed: int
    still_owed: int
    """New items that still owe a timestamp or an anchor after completion."""


class RecheckOutcome(enum.StrEnum):
    """What re-reading one confirmed anchor batch from the chain found."""

    FINAL = "final"
    """Enough confirmations on top, and the chain still agrees."""
    WAITING = "waiting"
    """Not enough confirmations yet."""
    UNREACHABLE = "unreachable"
    """The chain could not be asked; the recheck stopped there."""
    REANCHORED = "reanchored"
    """Dropped from the chain, then anchored again."""
    DROPPED = "dropped"
    """Dropped, and re-anchoring failed: the items wait for ``anchor --pending``."""


@dataclass(frozen=True, slots=True)
class RecheckResult:
    """What a recheck of anchors found for one batch."""

    batch_id: str
    outcome: RecheckOutcome
    detail: str
    item_ids: tuple[str, ...] = ()
    new_batch_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """A TSA token over a chain's head block."""

    id: str
    chain_id: int
    block_number: int
    block_hash: str
    statement: str
    token: TimestampToken


@dataclass(frozen=True, slots=True)
class ChainStatus:
    local: bool
    """True for the embedded anvil node, False for a configured RPC endpoint."""
    running: bool
    rpc_url: str | None
    chain_id: int | None
    block_number: int | None
    registry_address: str | None
    pid: int | None
    state_file_bytes: int | None


NEEDS_ATTENTION = "needs attention"
"""The action of a finding ``doctor`` could not settle by itself."""


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
        return self.log_ok and not any(f.action == NEEDS_ATTENTION for f in self.findings)
