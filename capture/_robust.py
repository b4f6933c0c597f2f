"""What a hostile or odd page can do during a capture, and the bounds on it.

Dialogs are dismissed and recorded (with a cap, so an alert loop is counted
rather than logged forever), pop-ups recorded and closed, downloads saved,
a page that closes itself noticed, bot-challenge and error pages flagged, and
a watchdog kills the browser when a capture overruns its total time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Dialog, Download, Page, Playwright
from playwright.sync_api import Error as PlaywrightError

from capture._recorder import RecordedExchange
from evidence.model.capture_options import CaptureOptions
from evidence.model.capture_record import CapturedFile, CaptureFlag, PageRendering
from evidence.model.errors import CaptureError

logger = logging.getLogger(__name__)


DEVICE_PRESETS: dict[str, str | None] = {
    "desktop": None,
    "desktop-1280": None,
    "iphone-13": "iPhone 13",
    "iphone-se": "iPhone SE",
    "pixel-7": "Pixel 7",
    "galaxy-s9": "Galaxy S9+",
    "ipad": "iPad (gen 7)",
}
"""Short names officers type; any exact Playwright device name works as well."""

CHALLENGE_STATUSES = frozenset({403, 429, 503})
# Markers of anti-bot interstitials (Cloudflare, Chinese CDNs' 滑块/人机验证 pages).
_CHALLENGE_MARKERS = re.compile(
    r"captcha|cf-challenge|challenge-platform|cf_chl_|just a moment|attention required|"
    r"人机验证|安全验证|滑块验证|验证码|请完成验证|访问验证|验证",
    re.IGNORECASE,
)
_STRONG_CHALLENGE = re.compile(r"cf-challenge|challenge-platform|cf_chl_|captcha", re.I)


@dataclass(frozen=True, slots=True)
class Emulation:
    """The browser-context settings for the chosen device, and what they make the page see."""

    name: str
    arguments: dict[str, Any]
    user_agent: str
    viewport: tuple[int, int]
    device_scale_factor: int
    is_mobile: bool

    def rendering(self, locale: str, timezone_id: str) -> PageRendering:
        return PageRendering(
            viewport=self.viewport,
            device=self.name,
            device_scale_factor=self.device_scale_factor,
            is_mobile=self.is_mobile,
            locale=locale,
            timezone_id=timezone_id,
        )


def context_arguments(playwright: Playwright, options: CaptureOptions) -> Emulation:
    """Browser-context settings for the device of ``options.rendering`` (desktop when empty)."""
    rendering = options.rendering
    name = rendering.device.strip()
    key = name.lower()
    descriptor: dict[str, Any] | None = None
    if key in DEVICE_PRESETS:
        preset = DEVICE_PRESETS[key]
        if preset is not None:
            descriptor = dict(playwright.devices[preset])
    elif name:
        if name not in playwright.devices:
            known = ", ".join(sorted(DEVICE_PRESETS))
            raise CaptureError(
                f"unknown device {name!r} (use one of {known} or a Playwright device name)"
            )
        descriptor = dict(playwright.devices[name])
    if descriptor is None:
        viewport = (rendering.viewport_width, rendering.viewport_height)
        return Emulation(
            name or "desktop",
            {
                "viewport": {"width": viewport[0], "height": viewport[1]},
                "user_agent": rendering.user_agent,
            },
            rendering.user_agent,
            viewport,
            1,
            False,
        )
    descriptor.pop("default_browser_type", None)
    vp = descriptor["viewport"]
    scale = float(descriptor.get("device_scale_factor", 1))
    return Emulation(
        name,
        descriptor,
        str(descriptor["user_agent"]),
        (int(vp["width"]), int(vp["height"])),
        # The manifest holds integers only; 2.625 (Pixel 7) is recorded as 3.
        round(scale),
        bool(descriptor.get("is_mobile", False)),
    )


def read_storage_state(path: Path | None) -> str:
    """Check the storage state (cookies, local storage) to log in with; return its SHA-256."""
    if path is None:
        return ""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CaptureError(f"cannot read storage state {path}: {exc.strerror or exc}") from None
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaptureError(f"storage state {path} is not JSON: {exc}") from None
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("cookies", []), list)
        or not isinstance(state.get("origins", []), list)
    ):
        raise CaptureError(
            f"storage state {path} is not a Playwright storage state "
            "(an object with 'cookies' and 'origins' lists)"
        )
    return hashlib.sha256(data).hexdigest()


class Watchdog:
    """Kills the browser's process tree when the capture overruns ``timeout_s``.

    Playwright's sync calls cannot be interrupted from another thread, but a
    dead browser makes the pending call fail at once, which ends the capture.
    """

    def __init__(self, browser: Browser, timeout_s: float) -> None:
        self.fired = False
        self._pid: int | None = None
        try:
            session = browser.new_browser_cdp_session()
            info = session.send("SystemInfo.getProcessInfo")
            self._pid = next(
                int(p["id"]) for p in info.get("processInfo", []) if p.get("type") == "browser"
            )
            session.detach()
        except (PlaywrightError, StopIteration, KeyError, ValueError):
            logger.warning("no browser process id: the total timeout cannot be enforced")
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        if self._pid is None:
            return
        self.fired = True
        logger.warning("capture exceeded its total timeout; killing browser %d", self._pid)
        for pid in [*_descendants(self._pid), self._pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; ppid follows the last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class PageEvents:
    """Dialogs, pop-ups, downloads and self-closing of the captured page."""

    def __init__(self, options: CaptureOptions) -> None:
        self._options = options
        self._dialogs: list[str] = []
        self._dialog_count = 0
        self.popups: list[str] = []
        self._downloads: list[Download] = []
        self._notes: list[str] = []
        self.page_closed = False
        self._main: Page | None = None

    @property
    def download_started(self) -> bool:
        return bool(self._downloads)

    def attach(self, context: BrowserContext, page: Page) -> None:
        self._main = page
        page.on("dialog", self._on_dialog)
        page.on("download", self._on_download)
        page.on("close", self._on_close)
        context.on("page", self._on_page)

    def note(self, warning: str) -> None:
        self._notes.append(warning)

    def dialog_log(self) -> tuple[str, ...]:
        return tuple(self._dialogs)

    def warnings(self) -> list[str]:
        warnings = list(self._notes)
        if self._dialog_count:
            shown = len(self._dialogs)
            more = f"; only the first {shown} are recorded" if self._dialog_count > shown else ""
            warnings.append(
                f"the page opened {self._dialog_count} dialog(s), dismissed automatically{more}"
            )
        if self.popups:
            warnings.append(
                f"the page opened {len(self.popups)} pop-up window(s), recorded and closed: "
                + ", ".join(self.popups[:3])
            )
        return warnings

    def _on_dialog(self, dialog: Dialog) -> None:
        self._dialog_count += 1
        if len(self._dialogs) < self._options.interaction.max_dialogs:
            message = " ".join(dialog.message.split())
            self._dialogs.append(f"{dialog.type}: {message[:200]}")
        with contextlib.suppress(PlaywrightError):
            dialog.dismiss()

    def _on_download(self, download: Download) -> None:
        self._downloads.append(download)

    def _on_close(self, _page: Page) -> None:
        self.page_closed = True

    def _on_page(self, popup: Page) -> None:
        if popup is self._main:
            return
        with contextlib.suppress(PlaywrightError):
            popup.wait_for_load_state("domcontentloaded", timeout=2000)
        self.popups.append(popup.url)
        logger.info("closing pop-up %s", popup.url)
        with contextlib.suppress(PlaywrightError):
            popup.close()

    def save_downloads(self, directory: Path) -> list[CapturedFile]:
        """Keep finished downloads within the size limit; cancel unfinished ones."""
        saved: list[CapturedFile] = []
        for number, download in enumerate(self._downloads, 1):
            # Cancelling a finished download changes nothing; an unfinished one
            # stops here, so a never-ending download cannot hold the capture.
            with contextlib.suppress(PlaywrightError):
                download.cancel()
            try:
                failure = download.failure()
            except PlaywrightError as exc:
                failure = str(exc)
            name = _safe_name(download.suggested_filename) or "download"
            if failure:
                self._notes.append(f"download {download.url} did not complete ({failure})")
                continue
            try:
                source = download.path()
                size = source.stat().st_size
            except (PlaywrightError, OSError) as exc:
                self._notes.append(f"download {download.url} could not be read ({exc})")
                continue
            limit = self._options.limits.max_download_bytes
            if size > limit:
                self._notes.append(
                    f"download {download.url} ({size} bytes) exceeds the limit of "
                    f"{limit} bytes and was not kept"
                )
                continue
            # Flat names: the bundle keeps every artifact directly under artifacts/.
            target = directory / f"download-{number:02d}-{name}"
            download.save_as(target)
            saved.append(CapturedFile(target, target.name, "download", "application/octet-stream"))
            self._notes.append(f"the page downloaded {download.url}; saved as {target.name}")
        return saved


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    return cleaned[:80]


def page_flags(
    status: int | None,
    title: str,
    dom: str,
    warnings: list[str],
    exchanges: tuple[RecordedExchange, ...],
) -> tuple[list[CaptureFlag], list[str]]:
    """Machine-readable flags and the warnings that explain new ones."""
    flags: list[CaptureFlag] = []
    notes: list[str] = []
    if status is not None and status >= 400:
        flags.append(CaptureFlag.HTTP_ERROR)
        notes.append(f"the server answered HTTP {status}: this is an error page, not the content")
    text = title + "\n" + dom[:200_000]
    marker = _CHALLENGE_MARKERS.search(text)
    if marker and (status in CHALLENGE_STATUSES or _STRONG_CHALLENGE.search(text)):
        flags.append(CaptureFlag.BOT_CHALLENGE)
        notes.append(
            f"the page looks like a bot challenge (HTTP {status}, marker {marker.group(0)!r}): "
            "the listing itself was not shown"
        )
    if any("did not settle" in w or "did not fire" in w for w in warnings):
        flags.append(CaptureFlag.UNSETTLED)
    if any(e.truncated for e in exchanges if not 300 <= e.status < 400):
        flags.append(CaptureFlag.TRUNCATED)
    if any("dialog" in w for w in warnings):
        flags.append(CaptureFlag.DIALOGS)
    if any("pop-up" in w for w in warnings):
        flags.append(CaptureFlag.POPUPS)
    if any("download" in w for w in warnings):
        flags.append(CaptureFlag.DOWNLOAD)
    if any("to private or loopback addresses" in w for w in warnings):
        flags.append(CaptureFlag.PRIVATE_NETWORK_BLOCKED)
    return flags, notes
