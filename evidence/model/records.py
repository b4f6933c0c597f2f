"""Typed records that cross module boundaries.

The stages (``capture``, ``anchoring``, ``reports``) take and return these
frozen dataclasses; none of them imports another stage. The facade in
:mod:`evidence.services.toolkit` composes them. A capture's options and record
have modules of their own: :mod:`evidence.model.capture_options` and
:mod:`evidence.model.capture_record`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.model.capture_record import CaptureRecord
from evidence.model.verification_messages import Reason

if TYPE_CHECKING:
    # Only for annotations: the records stay importable without loading cryptography.
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

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
    submitter: str
    """The checksummed account that sent the anchoring transaction (the Anchored event
    names the same): whether it is one to trust is the verifier's question."""


@dataclass(frozen=True, slots=True)
class LocalChainIdentity:
    """What a verifier must trust to accept this data directory's local-chain anchors.

    The local chain is witnessed by nobody else: an anchor there means only that
    this data directory's own submitter key wrote it into this registry.
    """

    chain_id: int
    rpc_url: str
    """The node's loopback JSON-RPC URL (no credentials); the port may change on restart."""
    registry: str
    """The checksummed EvidenceRegistry address this data directory anchors into."""
    submitter: str
    """The checksummed address of this data directory's own submitter key."""


# --- report --------------------------------------------------------------


class TrustStanding(enum.StrEnum):
    """What this machine's trust configuration says of a time-stamp's TSA or an anchor's chain.

    Decided by the facade against the trust configuration (``evidence trust``), never
    from what a token, receipt or bundle says of itself; the report titles the
    section by it.
    """

    TRUSTED = "trusted"
    """Chains to a TSA root, or names a chain and registry, that is configured as trusted."""
    DEVELOPMENT = "development"
    """Configured, but as this machine's own development TSA or local chain: no third party."""
    UNTRUSTED = "untrusted"
    """Not in this machine's trust configuration."""


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
class ActingOfficer:
    """The officer who performed a capture: in its manifest, item record and custody log."""

    enforcement_id: str
    """执法证号."""
    name: str
    agency: str
    certificate_sha256: str
    """SHA-256 (hex) of the officer's certificate at the capture; empty while the
    officer's certificate request is still with the agency CA."""

    def to_json(self) -> dict[str, str]:
        return {
            "enforcement_id": self.enforcement_id,
            "name": self.name,
            "agency": self.agency,
            "certificate_sha256": self.certificate_sha256,
        }


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
    screenshot_path: Path | None
    """The full-page screenshot; None when the page was kept only as tiles."""
    exhibits: tuple[ExhibitRow, ...]
    manifest_sha256: str
    manifest_sm3: str
    timestamp: TimestampToken | None
    anchor: AnchorReceipt | None
    tool_version: str
    language: str = "zh"
    notes: tuple[str, ...] = field(default_factory=tuple)
    custody: tuple[CustodyLine, ...] = ()
    """The item's custody log (保管链记录), oldest first; empty when none was recorded."""
    viewport_screenshot_path: Path | None = None
    """The first-screen (viewport) shot, when the capture took one."""
    anchor_check: AnchorCheck | None = None
    """The chain's view of the anchor when the report was generated (confirmations)."""
    screenshot_tiles: tuple[Path, ...] = ()
    """The full-page screenshot tiles, top to bottom, when the page was too tall to
    stitch; the report lays these out instead of ``screenshot_path``."""
    acting_officer: ActingOfficer | None = None
    """Who performed the capture; None for items sealed before captures named one."""
    place: str = ""
    """地点: where the capture was made (the case's default unless the capture said)."""
    purpose: str = ""
    """目的: why the capture was made."""
    manifest_signatures: tuple[SignatureInfo, ...] = ()
    """The officers' signatures over the manifest, capture first, each with its time."""
    timestamp_standing: TrustStanding = TrustStanding.UNTRUSTED
    """The time-stamp's TSA against the trust configuration; the safe default claims nothing."""
    anchor_standing: TrustStanding = TrustStanding.UNTRUSTED
    """The anchor's chain and registry against the trust configuration."""


# --- verification ------------------------------------------------------


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_CHECKED = "NOT CHECKED"
    UNTRUSTED = "UNTRUSTED"
    """Consistent, but resting only on what the bundle supplies about itself (its TSA
    root, its signers' certificates, its chain): never a pass."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    """What was checked, e.g. ``artifact.sha256`` or ``timestamp.token``."""
    subject: str
    """The file or field concerned, e.g. ``artifacts/screenshot.png``."""
    verdict: Verdict
    detail: str
    """The finding in English, as the command line and ``--json`` show it."""
    reasons: tuple[Reason, ...] = ()
    """What ``detail`` was made from, as codes and values, for a reader in another
    language; empty for a result written as free text."""


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
    def untrusted(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.verdict is Verdict.UNTRUSTED)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.not_checked and not self.untrusted

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 something failed, 2 something could not be checked or rests
        only on the bundle's own word (UNTRUSTED)."""
        if self.failures:
            return 1
        if self.not_checked or self.untrusted:
            return 2
        return 0


# --- custody and report signing -----------------------------------------


class CustodyAction(enum.StrEnum):
    """What a custody event records (``action`` in ``docs/custody.md``); stored as the value."""

    CASE_CREATE = "case.create"
    CAPTURE_START = "capture.start"
    CAPTURE_FAIL = "capture.fail"
    SEAL = "seal"
    TIMESTAMP = "timestamp"
    ANCHOR = "anchor"
    SIGN = "sign"
    REPORT = "report"
    EXPORT = "export"
    EXPORT_WACZ = "export.wacz"
    VIEW = "view"
    VERIFY = "verify"
    DOCTOR_MARK_FAILED = "doctor.mark-failed"
    """``evidence doctor`` settled a capture that was interrupted before sealing."""
    # The agency service (evidence api): the actor is the authenticated user.
    JOB_SUBMIT = "job.submit"
    JOB_CANCEL = "job.cancel"
    ACCESS = "access"
    """A read through the service (cases, jobs, the custody log); ``details.request``."""
    AUTH_LOGIN = "auth.login"
    AUTH_TOKEN = "auth.token"
    """An API token issued or revoked (``details.change``)."""
    USER_CHANGE = "user.change"


@dataclass(frozen=True, slots=True)
class CustodyLine:
    """One entry of an item's custody log as the report shows it."""

    seq: int
    at: datetime
    actor: str
    action: str
    """As stored: a :class:`CustodyAction` value for every event this toolkit writes, kept
    as text so that a log written by another version still shows what it holds."""
    reason: str
    hash_after: str
    """Hex digest of the log's hash chain after this entry."""
    details: str = ""
    """The event's further facts as stored (canonical JSON): for an officer's action
    the operating-system user and host it ran under."""


@dataclass(frozen=True, slots=True)
class ReportSigner:
    """An officer's signing material for the PAdES signature of a report."""

    key: PrivateKeyTypes
    """EC (P-256/P-384), Ed25519 or RSA private key."""
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    """Intermediate (and optionally root) certificates of the officer's certificate."""
    label: str = ""
    """Who signs, e.g. ``张三（执法证号 11010001）``; shown in the signature dictionary."""
    enforcement_id: str = ""
    """The signing officer's enforcement ID: the custody actor of what they sign (empty for
    a signer who is not an officer, e.g. an expert)."""


# --- officers and manifest signatures -------------------------------------


@dataclass(frozen=True, slots=True)
class OfficerInfo:
    """An enforcement officer and their certificate; the private key never appears here."""

    id: str
    name: str
    enforcement_id: str
    """执法证号."""
    agency: str
    key_algorithm: str
    """``ecdsa-p256`` or ``ed25519``."""
    key_path: str
    """The encrypted key file, relative to the data directory."""
    created_at: datetime
    certificate_sha256: str | None
    """SHA-256 fingerprint (hex) of the certificate; ``None`` while a CSR is pending."""
    certificate_subject: str = ""
    certificate_issuer: str = ""
    self_signed: bool = False
    not_valid_before: datetime | None = None
    not_valid_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """One officer's detached CMS signature over an item's manifest."""

    id: str
    item_id: str
    index: int
    """1 for the first signature on the item, 2 for the next, ... (bundle file order)."""
    role: str
    """``capture`` (the capturing officer) or ``cosign`` (a second officer, later)."""
    officer_name: str
    enforcement_id: str
    signed_at: datetime
    """The CMS signingTime (whole seconds, UTC)."""
    key_algorithm: str
    certificate_sha256: str
    certificate_subject: str
    signature_der: bytes
    """DER CMS SignedData, detached (``openssl cms -verify -binary -inform DER``)."""
    certificate_pem: bytes
    """The signer's certificate, also embedded in the signature."""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """Who a verified manifest signature names, and whether they are trusted."""

    subject: str
    """RFC 4514 subject of the signer's certificate."""
    common_name: str
    enforcement_id: str
    """The subject's serialNumber attribute (执法证号); empty if the certificate has none."""
    issuer: str
    certificate_sha256: str
    signing_time: datetime
    trusted: bool
    """True only when trust roots were given and the certificate chains to one of them."""
    key_algorithm: str
    digest_algorithm: str
