"""Typed records that cross module boundaries.

The stages (``capture``, ``anchoring``, ``reports``) take and return these
frozen dataclasses; none of them imports another stage. The facade in
:mod:`evidence.api` composes them.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

Clock = Callable[[], datetime]
"""Returns an aware UTC ``datetime``; injected so outputs can be reproduced."""

IdFactory = Callable[[], str]
"""Returns a fresh unique identifier string; injected for reproducible tests."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def random_id() -> str:
    return str(uuid.uuid4())


def isoformat(moment: datetime) -> str:
    """RFC 3339 UTC with millisecond precision, e.g. ``2026-11-26T18:30:00.123Z``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in the toolkit is timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# --- capture -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """How to drive the browser. Defaults match an officer's desktop view."""

    chromium_path: Path | None = None
    viewport_width: int = 1280
    viewport_height: int = 800
    user_agent: str = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    )
    locale: str = "zh-CN"
    timezone_id: str = "Asia/Shanghai"
    navigation_timeout_s: float = 30.0
    settle_timeout_s: float = 5.0
    operator: str = ""
    software: str = "evidence-toolkit"
    software_version: str = "0"


@dataclass(frozen=True, slots=True)
class CapturedFile:
    """One file the capture wrote into its working directory."""

    path: Path
    name: str
    role: str
    media_type: str


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """Summary of one request/response the browser made (full detail is in the WARC)."""

    url: str
    method: str
    status: int
    server_ip: str | None
    mime_type: str
    body_size: int


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """What a capture saw and wrote, before anything is sealed."""

    requested_url: str
    final_url: str
    redirect_chain: tuple[str, ...]
    started_at: datetime
    finished_at: datetime
    page_title: str
    http_status: int | None
    server_ip: str | None
    user_agent: str
    browser_version: str
    viewport: tuple[int, int]
    files: tuple[CapturedFile, ...]
    exchanges: tuple[HttpExchange, ...] = ()
    warnings: tuple[str, ...] = ()


# --- timestamp -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimestampToken:
    """An RFC 3161 time-stamp response and what was read from it."""

    tsa_url: str
    response_der: bytes
    """The whole ``TimeStampResp`` as received (``openssl ts -verify -in``)."""
    token_der: bytes
    """The ``TimeStampToken`` (CMS ``ContentInfo``) inside the response."""
    gen_time: datetime
    serial_number: int
    policy_oid: str
    hash_algorithm: str
    message_imprint: str
    nonce: int | None
    tsa_subject: str
    tsa_certificate_pem: bytes
    """The TSA's signing certificate (``-untrusted`` for ``openssl ts -verify``)."""
    trust_root_pem: bytes
    """The root the token was verified against on receipt (``-CAfile``)."""
    development: bool
    """True when the TSA is the toolkit's own development TSA: no trusted third party."""


# --- anchor --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    """Where and when a 32-byte root was written to the EvidenceRegistry contract."""

    chain_id: int
    network_name: str
    rpc_url: str
    contract_address: str
    transaction_hash: str
    block_number: int
    block_hash: str
    block_time: datetime
    root: str
    """``0x``-prefixed hex of the anchored bytes32: the batch's Merkle root."""
    submitter: str
    reference: str
    development: bool
    """True on the toolkit's local anvil chain: nobody but this machine witnessed it."""
    leaf: str = ""
    """Hex of the leaf data this receipt is about (an item's manifest SHA-256); empty for
    a bare chain receipt."""
    leaf_index: int = 0
    tree_size: int = 1
    proof: tuple[str, ...] = ()
    """The leaf's RFC 9162 inclusion proof: sibling hashes (hex) from the leaf up."""


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """The chain's current view of an anchor, read back over JSON-RPC."""

    chain_id: int
    contract_address: str
    transaction_hash: str
    block_number: int
    block_hash: str
    confirmations: int
    root: str
    anchored_at_block_time: datetime


# --- report --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExhibitRow:
    """One line of the exhibit list (电子数据清单)."""

    number: int
    path: str
    role: str
    media_type: str
    size: int
    sha256: str
    sm3: str


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything the evidence report shows, already gathered by the facade."""

    report_number: str
    generated_at: datetime
    case_number: str
    case_title: str
    case_cause: str
    agency: str
    officers: tuple[str, ...]
    item_id: str
    capture: CaptureRecord
    screenshot_path: Path
    exhibits: tuple[ExhibitRow, ...]
    manifest_sha256: str
    manifest_sm3: str
    timestamp: TimestampToken | None
    anchor: AnchorReceipt | None
    tool_version: str
    language: str = "zh"
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- verification ------------------------------------------------------


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_CHECKED = "NOT CHECKED"


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    """What was checked, e.g. ``artifact.sha256`` or ``timestamp.token``."""
    subject: str
    """The file or field concerned, e.g. ``artifacts/screenshot.png``."""
    verdict: Verdict
    detail: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    bundle: str
    manifest_sha256: str | None
    checks: tuple[CheckResult, ...]

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.verdict is Verdict.FAIL)

    @property
    def not_checked(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.verdict is Verdict.NOT_CHECKED)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.not_checked

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 something failed, 2 something could not be checked."""
        if self.failures:
            return 1
        if self.not_checked:
            return 2
        return 0
