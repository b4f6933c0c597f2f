"""How to capture a page: the options the capture stage takes, grouped by what they govern.

``CaptureOptions()`` is an officer's desktop view with every safety on. A
caller changes one group at a time::

    CaptureOptions(rendering=RenderingOptions(device="iphone-13"))
    replace(options, safety=replace(options.safety, allow_private_targets=True))
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only for an annotation: the records module imports the capture record, which
    # imports this module.
    from evidence.model.records import Clock

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
"""Chromium's own says ``HeadlessChrome``, which sites answer differently."""


class CheckPolicy(enum.StrEnum):
    """What a capture does when one of its checks finds a problem."""

    RECORD = "record"
    """Go on, and write the problem into the capture record."""
    REFUSE = "refuse"
    """Stop: no capture is made."""


class ClockPolicy(enum.StrEnum):
    """What a capture does when the machine's clock is off or could not be checked."""

    WARN = "warn"
    """Go on; the report shows the clock check as a warning."""
    REFUSE = "refuse"
    """Stop before the page is opened: no capture with an unchecked or wrong clock."""


class StepAction(enum.StrEnum):
    """What one navigation step does (see ``capture.load_steps``)."""

    GOTO = "goto"
    CLICK = "click"
    TYPE = "type"
    PRESS = "press"
    SCROLL = "scroll"
    WAIT = "wait"
    SCREENSHOT = "screenshot"


@dataclass(frozen=True, slots=True)
class CaptureStep:
    """One step of a repeatable navigation.

    ``target`` is the URL (goto), CSS selector (click, type, press, wait) or
    name (screenshot); ``value`` the text (type) or key (press); ``amount``
    milliseconds (wait) or pixels (scroll, 0 = to the bottom).
    """

    action: StepAction
    target: str = ""
    value: str = ""
    amount: int = 0


@dataclass(frozen=True, slots=True)
class BrowserOptions:
    """Which Chromium runs the capture."""

    chromium_path: Path | None = None
    """``None``: the Debian locations are searched."""
    args: tuple[str, ...] = ()
    """Extra command-line flags; the environment record lists every flag used."""


@dataclass(frozen=True, slots=True)
class RenderingOptions:
    """The screen the page is shown on and the browser the site believes it talks to."""

    device: str = ""
    """Device preset ("iphone-13", "pixel-7", "desktop-1280" or a Playwright device
    name); empty means the desktop viewport and user agent below."""
    viewport_width: int = 1280
    viewport_height: int = 800
    user_agent: str = DEFAULT_USER_AGENT
    locale: str = "zh-CN"
    timezone_id: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class ScreenshotOptions:
    """How a tall page is photographed."""

    tile_height: int = 16_384
    """Pages taller than this (CSS px) are photographed in tiles of this height."""
    max_stitch_pixels: int = 80_000_000
    """Tiles are stitched into one ``screenshot.png`` only up to this many pixels."""


@dataclass(frozen=True, slots=True)
class InteractionOptions:
    """What is done on the page before it is photographed, and how the session is filmed."""

    steps: tuple[CaptureStep, ...] = ()
    storage_state_path: Path | None = None
    """A Playwright storage-state JSON (cookies, localStorage) for a logged-in capture."""
    account_label: str = ""
    """Which account the storage state logs in as, in the officer's words."""
    step_timeout_s: float = 10.0
    max_scroll_steps: int = 80
    """Screens scrolled at most, so an endless page still ends."""
    max_dialogs: int = 20
    """Dialogs recorded at most; the rest are dismissed and counted."""
    record_video: bool | None = None
    """Record the session as a video; ``None`` means "when ffmpeg is installed"."""


@dataclass(frozen=True, slots=True)
class LimitOptions:
    """Bounds on time and size, so a hostile page cannot hold or flood the capture."""

    navigation_timeout_s: float = 30.0
    settle_timeout_s: float = 5.0
    total_timeout_s: float = 180.0
    """Hard bound on one capture: the browser is killed when it is exceeded."""
    max_response_bytes: int = 256 * 1024 * 1024
    """Response bodies above this are not copied into the WARC (marked truncated)."""
    max_download_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SafetyOptions:
    """Which hosts may be captured and which TLS certificates are trusted."""

    allow_private_targets: bool = False
    """Capture loopback/private/link-local hosts; off so a URL cannot probe the office LAN."""
    allowed_private_hosts: tuple[str, ...] = ()
    """``host`` or ``host:port`` entries that may be captured even though they are private
    (an agency's own intranet mirror) while every other private address stays refused."""
    certificate_errors: CheckPolicy = CheckPolicy.RECORD
    """``RECORD``: capture a page whose TLS certificate is not trusted and record the error;
    ``REFUSE``: fail the capture instead."""
    tls_trust_roots: Path | None = None
    """Extra PEM trust roots (e.g. an agency CA) for checking servers' certificate chains."""


@dataclass(frozen=True, slots=True)
class EnvironmentOptions:
    """The clean-environment check (清洁性检查) of the capturing machine."""

    policy: CheckPolicy = CheckPolicy.RECORD
    """``RECORD``: run every check and record its result; ``REFUSE``: additionally
    refuse to capture when a check fails."""
    reference_clock: Clock | None = None
    """A trusted time source (e.g. the TSA's genTime) to compare the local clock with."""
    ntp_servers: tuple[str, ...] = ("ntp.ntsc.ac.cn", "cn.pool.ntp.org")
    """``host`` or ``host:port``; asked in turn (1 s each) when no reference clock is given."""
    clock_http_urls: tuple[str, ...] = ()
    """HTTPS servers whose ``Date`` header is asked (±0.5 s) when no NTP server answers."""
    clock_policy: ClockPolicy = ClockPolicy.WARN
    max_clock_skew_ms: int = 1_000
    """A clock further off than this, or one no source could check, is a warning
    (``WARN``) or stops the capture (``REFUSE``)."""
    ip_echo_url: str | None = None
    """A service that answers with the address a request came from (plain text or JSON
    ``{"ip": ...}``): the public exit address. ``None``: only the local address is known."""


@dataclass(frozen=True, slots=True)
class ProvenanceOptions:
    """Who captures, with which software: written into the WARC's warcinfo record."""

    operator: str = ""
    software: str = "evidence-toolkit"
    software_version: str = "0"


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """How to drive the browser. The defaults match an officer's desktop view."""

    browser: BrowserOptions = BrowserOptions()
    rendering: RenderingOptions = RenderingOptions()
    screenshots: ScreenshotOptions = ScreenshotOptions()
    interaction: InteractionOptions = InteractionOptions()
    limits: LimitOptions = LimitOptions()
    safety: SafetyOptions = SafetyOptions()
    environment: EnvironmentOptions = EnvironmentOptions()
    provenance: ProvenanceOptions = ProvenanceOptions()
