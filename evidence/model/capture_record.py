"""What a capture saw and wrote, grouped by domain, before anything is sealed.

The manifest keeps these facts as one flat JSON object (``capture`` in
``docs/manifest.md``); :func:`evidence.model.manifest.capture_to_json` maps the
groups onto it, so the grouping here never changes a sealed byte.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evidence.model.capture_options import StepAction
from evidence.model.environment_messages import EnvironmentFinding


class CaptureFlag(enum.StrEnum):
    """A machine-readable marker of something a reader of the capture must know."""

    HTTP_ERROR = "http-error"
    """The server answered 4xx/5xx: an error page, not the content."""
    BOT_CHALLENGE = "bot-challenge"
    UNSETTLED = "unsettled"
    """The page was still loading when it was photographed."""
    TRUNCATED = "truncated"
    """A response body is incomplete in the WARC."""
    DIALOGS = "dialogs"
    POPUPS = "popups"
    DOWNLOAD = "download"
    PRIVATE_NETWORK_BLOCKED = "private-network-blocked"
    """The page tried to reach private or loopback addresses and was stopped."""


class EnvironmentStatus(enum.StrEnum):
    """The result of one clean-environment check."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    NOT_CHECKED = "not_checked"


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


# --- the page and how it was shown -------------------------------------------


@dataclass(frozen=True, slots=True)
class CapturedPage:
    """The page the browser reached: where it was sent, where it arrived, what answered."""

    requested_url: str
    final_url: str
    redirect_chain: tuple[str, ...]
    title: str
    http_status: int | None
    server_ip: str | None
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class PageRendering:
    """The screen the page was shown on: the desktop or an emulated device."""

    viewport: tuple[int, int]
    device: str = ""
    device_scale_factor: int = 1
    is_mobile: bool = False
    locale: str = ""
    timezone_id: str = ""


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


@dataclass(frozen=True, slots=True)
class ScreenshotLayout:
    """How the full page was photographed: one image, or tiles too tall to stitch."""

    page_height: int = 0
    """Height of the page in CSS px when it was photographed."""
    tiles: tuple[ScreenshotTile, ...] = ()
    stitched: bool = True


# --- what was done on the page -------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepResult:
    """What happened when a navigation step ran."""

    index: int
    action: StepAction
    description: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    """``ok``, ``failed: <reason>`` or ``skipped``."""
    artifact: str = ""


@dataclass(frozen=True, slots=True)
class AnnotatedVideo:
    """A copy of the session video made for viewing, with the page's address and each
    frame's time burnt in. The original (``source``) stays the evidence, untouched."""

    name: str
    source: str
    """File name of the original video it was made from."""
    source_sha256: str
    frame_count: int
    """Frames in the copy, one per frame of the original."""
    method: str
    """How it was made (tool, filter, codec), in words."""


@dataclass(frozen=True, slots=True)
class Interaction:
    """The session on the page: the steps run, the account used, and what the page did."""

    steps: tuple[StepResult, ...] = ()
    """Every navigation step executed (进入步骤), in order."""
    account_label: str = ""
    storage_state_sha256: str = ""
    dialogs: tuple[str, ...] = ()
    popups: tuple[str, ...] = ()
    downloads: tuple[str, ...] = ()
    video_note: str = ""
    """Why there is no session video, when there is none."""
    video_span: tuple[datetime, datetime] | None = None
    """When the session video's first and last frames were painted (browser clock), to be
    read against the capture's own span (``started_at`` to ``finished_at``, then sealing)."""
    video_annotated: AnnotatedVideo | None = None
    """The derived viewing copy, when one was made."""


# --- who looked, from where -------------------------------------------------------


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
class Provenance:
    """The browser and machine that looked, and the network path to the page."""

    user_agent: str
    browser_version: str
    capture_host: str = ""
    outbound_ip: str | None = None
    outbound_ip_service: str = ""
    """The echo service that reported ``outbound_ip`` as the public exit address;
    empty: ``outbound_ip`` is the machine's own (local) address, the exit was not checked."""
    hosts: tuple[HostRecord, ...] = ()
    tls: tuple[TlsOrigin, ...] = ()


@dataclass(frozen=True, slots=True)
class EnvironmentCheck:
    """One item of the clean-environment check (清洁性检查)."""

    name: str
    status: EnvironmentStatus
    detail: str
    """The findings in English, as recorded (older captures have only this)."""
    findings: tuple[EnvironmentFinding, ...] = ()
    """The same findings as codes and values, so a report can say them in its language."""


@dataclass(frozen=True, slots=True)
class EnvironmentSummary:
    """The clean-environment check's results and the clock comparison."""

    checks: tuple[EnvironmentCheck, ...] = ()
    clock_offset_ms: int | None = None
    """Local clock minus the trusted time, when one could be asked."""
    clock_source: str = ""


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """What a capture saw and wrote, before anything is sealed."""

    page: CapturedPage
    rendering: PageRendering
    provenance: Provenance
    files: tuple[CapturedFile, ...]
    exchanges: tuple[HttpExchange, ...] = ()
    warnings: tuple[str, ...] = ()
    flags: tuple[CaptureFlag, ...] = ()
    screenshots: ScreenshotLayout = ScreenshotLayout()
    interaction: Interaction = Interaction()
    environment: EnvironmentSummary = EnvironmentSummary()
