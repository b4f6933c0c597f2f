"""Typed records that cross module boundaries.

The stages (``capture``, ``anchoring``, ``reports``) take and return these
frozen dataclasses; none of them imports another stage. The facade in
:mod:`evidence.services.toolkit` composes them.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

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
    # -- screenshots, devices, steps, robustness (issue 4 part B) --
    allow_private_targets: bool = False
    """Capture loopback/private/link-local hosts; off so a URL cannot probe the office LAN."""
    allowed_private_hosts: tuple[str, ...] = ()
    """``host`` or ``host:port`` entries that may be captured even though they are private
    (an agency's own intranet mirror) while every other private address stays refused."""
    browser_args: tuple[str, ...] = ()
    """Extra Chromium command-line flags; the environment record lists every flag used."""
    device: str = ""
    """Device preset ("iphone-13", "pixel-7", "desktop-1280" or a Playwright device
    name); empty means the desktop viewport and user agent above."""
    tile_height: int = 16_384
    """Pages taller than this (CSS px) are photographed in tiles of this height."""
    max_stitch_pixels: int = 80_000_000
    """Tiles are stitched into one ``screenshot.png`` only up to this many pixels."""
    record_video: bool | None = None
    """Record the session as a video; ``None`` means "when ffmpeg is installed"."""
    steps: tuple[CaptureStep, ...] = ()
    storage_state_path: Path | None = None
    """A Playwright storage-state JSON (cookies, localStorage) for a logged-in capture."""
    account_label: str = ""
    total_timeout_s: float = 180.0
    """Hard bound on one capture: the browser is killed when it is exceeded."""
    step_timeout_s: float = 10.0
    max_scroll_steps: int = 80
    max_dialogs: int = 20
    max_response_bytes: int = 256 * 1024 * 1024
    """Response bodies above this are not copied into the WARC (marked truncated)."""
    max_download_bytes: int = 100 * 1024 * 1024
    # --- provenance and clean-environment check (issue 4A) ---
    environment_policy: str = "record"
    """``record``: run the clean-environment check and record every result;
    ``refuse``: additionally refuse to capture when a check fails."""
    reference_clock: Clock | None = None
    """A trusted time source (e.g. the TSA's genTime) to compare the local clock with."""
    ntp_servers: tuple[str, ...] = ("ntp.ntsc.ac.cn", "cn.pool.ntp.org")
    """``host`` or ``host:port``; asked in turn (1 s each) when no reference clock is given."""
    certificate_errors: str = "record"
    """``record``: capture a page whose TLS certificate is not trusted and record the error;
    ``refuse``: fail the capture instead."""
    tls_trust_roots: Path | None = None
    """Extra PEM trust roots (e.g. an agency CA) for checking servers' certificate chains."""


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
    # -- screenshots, devices, steps, robustness (issue 4 part B) --
    device: str = ""
    locale: str = ""
    timezone_id: str = ""
    device_scale_factor: int = 1
    is_mobile: bool = False
    page_height: int = 0
    """Height of the page in CSS px when it was photographed."""
    screenshot_tiles: tuple[ScreenshotTile, ...] = ()
    screenshot_stitched: bool = True
    steps: tuple[StepResult, ...] = ()
    """Every navigation step executed (进入步骤), in order."""
    account_label: str = ""
    storage_state_sha256: str = ""
    video_note: str = ""
    """Why there is no session video, when there is none."""
    dialogs: tuple[str, ...] = ()
    popups: tuple[str, ...] = ()
    downloads: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    """Machine-readable markers: http-error, bot-challenge, unsettled, truncated, ..."""
    # --- provenance and clean-environment check (issue 4A) ---
    hosts: tuple[HostRecord, ...] = ()
    tls: tuple[TlsOrigin, ...] = ()
    environment: tuple[EnvironmentCheck, ...] = ()
    capture_host: str = ""
    outbound_ip: str | None = None
    clock_offset_ms: int | None = None
    """Local clock minus the trusted time, when one could be asked."""
    clock_source: str = ""


# --- capture provenance and environment (issue 4A) -------------------------


@dataclass(frozen=True, slots=True)
class HostRecord:
    """A host the browser contacted, as the capture machine's resolver answered for it."""

    host: str
    """ASCII form (punycode for an IDN host), as it appears in URLs on the wire."""
    unicode_host: str
    """The same name in Unicode (equal to ``host`` for a plain ASCII name)."""
    addresses: tuple[str, ...]
    """A/AAAA answers from the OS resolver at capture time (not the browser's own cache)."""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TlsOrigin:
    """An HTTPS origin the browser contacted and the certificate chain it presents."""

    origin: str
    """``https://host[:port]`` (ASCII host)."""
    protocol: str
    cipher: str
    subject: str
    issuer: str
    not_before: datetime | None
    not_after: datetime | None
    subject_alt_names: tuple[str, ...]
    chain_sha256: tuple[str, ...]
    """SHA-256 fingerprints (hex) of the chain as served, leaf first."""
    certificate_error: str | None
    """Why the chain is not trusted for this host (``None``: it verified)."""


@dataclass(frozen=True, slots=True)
class EnvironmentCheck:
    """One item of the clean-environment check (清洁性检查)."""

    name: str
    status: str
    """``pass``, ``warn``, ``fail`` or ``not_checked``."""
    detail: str


@dataclass(frozen=True, slots=True)
class CaptureStep:
    """One step of a repeatable navigation (see ``capture.load_steps``).

    ``action`` is goto, click, type, press, scroll, wait or screenshot;
    ``target`` is the URL (goto), CSS selector (click, type, press, wait) or
    name (screenshot); ``value`` the text (type) or key (press); ``amount``
    milliseconds (wait) or pixels (scroll, 0 = to the bottom).
    """

    action: str
    target: str = ""
    value: str = ""
    amount: int = 0


@dataclass(frozen=True, slots=True)
class StepResult:
    """What happened when a step ran."""

    index: int
    action: str
    description: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    """``ok``, ``failed: <reason>`` or ``skipped``."""
    artifact: str = ""


@dataclass(frozen=True, slots=True)
class ScreenshotTile:
    """One tile of a page too tall for a single screenshot."""

    index: int
    name: str
    y: int
    """Offset of the tile's top edge in CSS px from the top of the page."""
    height: int
    """Height in CSS px."""
    pixel_y: int
    """Offset in the stitched image, in image pixels."""
    pixel_height: int


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


# --- custody and report signing -----------------------------------------


@dataclass(frozen=True, slots=True)
class CustodyLine:
    """One entry of an item's custody log as the report shows it."""

    seq: int
    at: datetime
    actor: str
    action: str
    reason: str
    hash_after: str
    """Hex digest of the log's hash chain after this entry."""


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


# --- officers and manifest signatures (issue 3 item 5) -------------------


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
