"""The visit to the page inside one browser: open, arrive, interact, photograph, collect.

:func:`visit_page` runs the phases in the order that makes the evidence hang
together: the recorder and the session video start before the page opens
(the video stops only after the last picture, the printed PDF); the first-screen shot
is taken once the page has loaded and before any step, so it shows the page
as it first appeared; the steps (each followed by its own shot) and the
settling happen before the full-page screenshot; and the traffic is read only
after the DOM and page copies are saved, so the WARC holds what the pictures
show.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urldefrag

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from capture._browser import first_line, navigate, settle
from capture._guard import check_document_address, check_target, private_target_reason
from capture._recorder import RecordedExchange, TrafficRecorder
from capture._robust import Emulation, PageEvents, context_arguments, page_flags, read_storage_state
from capture._screenshot import VIEWPORT_NAME, Screenshots, take_screenshots, take_viewport
from capture._steps import run_steps
from capture._supporting import SupportingEvidence, ignore_https_errors
from capture._video import ScreencastRecorder, ffmpeg_path
from evidence.model.capture_options import CaptureOptions
from evidence.model.capture_record import (
    CapturedFile,
    CaptureFlag,
    Interaction,
    PageRendering,
    StepResult,
)
from evidence.model.errors import CaptureError, InvalidURLError
from evidence.model.records import Clock

# A byte order mark makes browsers read the file as UTF-8 even though the
# saved DOM may still say <meta charset="gbk">, as the captured page did.
_UTF8_BOM = "\ufeff"
_GUARD_DNS_TIMEOUT_S = 2.0
"""A document's host that takes longer to resolve is let through (checked again after)."""


@dataclass(frozen=True, slots=True)
class PageVisit:
    """What the browser phase hands back: the page, its pictures and its traffic."""

    http_status: int | None
    response_url: str
    redirect_chain: tuple[str, ...]
    server_ip: str
    final_url: str
    title: str
    browser_version: str
    user_agent: str
    rendering: PageRendering
    interaction: Interaction
    """Steps, account, dialogs, pop-ups and downloads; the video note comes later."""
    screenshots: Screenshots
    screenshot_at: datetime
    """When the full-page screenshot was taken (after the steps and the settling)."""
    first_view: FirstView
    dom_at: datetime
    exchanges: tuple[RecordedExchange, ...]
    warnings: tuple[str, ...]
    flags: tuple[CaptureFlag, ...]
    step_shots: tuple[Path, ...] = ()
    downloads: tuple[CapturedFile, ...] = ()
    screencast: ScreencastRecorder | None = field(default=None, compare=False)
    video_note: str = ""


@dataclass(frozen=True, slots=True)
class FirstView:
    """The first-screen shot: the viewport once the page loaded, before any step."""

    path: Path
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class _Arrival:
    status: int | None
    response_url: str
    chain: tuple[str, ...]
    server_ip: str


def visit_page(
    browser: Browser,
    url: str,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    support: SupportingEvidence,
    *,
    playwright: Playwright,
    events: PageEvents,
    deadline: float,
    videos: list[ScreencastRecorder],
) -> PageVisit:
    """Capture ``url`` in a fresh context of ``browser``; files go beside ``dom_path``."""
    emulation = context_arguments(playwright, options)
    storage_digest = read_storage_state(options.interaction.storage_state_path)
    context = _open_context(browser, emulation, options)
    support.check_browser(context, options)  # its build and flags, before the page opens
    page = context.new_page()
    events.attach(context, page)
    recorder = TrafficRecorder(
        context.new_cdp_session(page),
        clock,
        max_body_bytes=options.limits.max_response_bytes,
        document_guard=_document_guard(options),
    )
    recorder.start()
    screencast, video_note = _start_screencast(
        context, page, dom_path.parent, options, emulation.viewport
    )
    if screencast is not None:
        videos.append(screencast)
    session = _Session(
        browser, context, page, recorder, events, emulation, storage_digest, screencast, video_note
    )
    return _on_the_page(session, url, dom_path, options, clock, support, deadline)


@dataclass(frozen=True, slots=True)
class _Session:
    """The open page and everything listening to it."""

    browser: Browser
    context: BrowserContext
    page: Page
    recorder: TrafficRecorder
    events: PageEvents
    emulation: Emulation
    storage_digest: str
    screencast: ScreencastRecorder | None
    video_note: str


def _on_the_page(
    session: _Session,
    url: str,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    support: SupportingEvidence,
    deadline: float,
) -> PageVisit:
    """Arrive, interact, photograph, save the DOM and copies, then read the traffic."""
    page, recorder, events, screencast = (
        session.page, session.recorder, session.events, session.screencast
    )  # fmt: skip
    workdir = dom_path.parent
    arrival = _arrive(page, url, options, recorder, events)
    first_view, warnings = _first_view(page, workdir, options, clock)
    steps, step_shots, step_warnings = _interact(page, workdir, options, clock, recorder)
    warnings.extend(step_warnings)
    screenshot_at = clock()
    shots = _photograph(page, url, workdir, options)
    warnings.extend(shots.warnings)
    dom_at = clock()
    dom = _page_content(page)
    dom_path.write_text(_UTF8_BOM + dom, encoding="utf-8")
    title = page.title()
    final_url = page.url
    support.save_page_copies(page, session.context, clock, options)
    if screencast is not None:
        _stop_session_video(screencast, workdir, deadline)

    support.take_network_log(recorder)
    recorder.stop()
    exchanges = tuple(recorder.exchanges())
    warnings.extend(_traffic_warnings(recorder, exchanges))
    warnings.extend(_moved_itself(arrival.response_url, final_url, exchanges, options))
    downloads = events.save_downloads(workdir)
    warnings.extend(events.warnings())
    flags, flag_warnings = page_flags(arrival.status, title, dom, warnings, exchanges)
    warnings.extend(flag_warnings)
    rendering = options.rendering
    return PageVisit(
        http_status=arrival.status,
        response_url=arrival.response_url,
        redirect_chain=arrival.chain,
        server_ip=arrival.server_ip,
        final_url=final_url,
        title=title,
        browser_version=session.browser.version,
        user_agent=session.emulation.user_agent,
        rendering=session.emulation.rendering(rendering.locale, rendering.timezone_id),
        interaction=Interaction(
            steps=tuple(steps),
            account_label=options.interaction.account_label,
            storage_state_sha256=session.storage_digest,
            dialogs=events.dialog_log(),
            popups=tuple(events.popups),
            downloads=tuple(f.name for f in downloads),
        ),
        screenshots=shots,
        screenshot_at=screenshot_at,
        first_view=first_view,
        dom_at=dom_at,
        exchanges=exchanges,
        warnings=tuple(warnings),
        flags=tuple(flags),
        step_shots=tuple(step_shots),
        downloads=tuple(downloads),
        screencast=screencast,
        video_note=session.video_note,
    )


def _stop_session_video(screencast: ScreencastRecorder, workdir: Path, deadline: float) -> None:
    # The video covers the whole visit: it stops only once the last picture
    # of the page (full-page screenshot, DOM, MHTML, printed PDF) is taken.
    # Frames the full-page screenshot paints at the whole page's size are
    # listed, not muxed (one stream has one frame size). ffmpeg muxes the
    # frames while the traffic is read and the WARC written.
    screencast.stop()
    screencast.write_in_background(workdir, deadline)


def _open_context(
    browser: Browser, emulation: Emulation, options: CaptureOptions
) -> BrowserContext:
    try:
        return browser.new_context(
            **emulation.arguments,
            locale=options.rendering.locale,
            timezone_id=options.rendering.timezone_id,
            # A service worker could answer requests the page's session never sees.
            service_workers="block",
            accept_downloads=True,
            storage_state=options.interaction.storage_state_path,
            ignore_https_errors=ignore_https_errors(options),
        )
    except PlaywrightError as exc:
        raise CaptureError(f"could not open a browser context: {first_line(exc)}") from None


def _arrive(
    page: Page,
    url: str,
    options: CaptureOptions,
    recorder: TrafficRecorder,
    events: PageEvents,
) -> _Arrival:
    """Navigate to ``url``; a URL that turns out to be a download is an arrival too."""
    safety = options.safety
    try:
        status, response_url, chain, server_ip = navigate(
            page, url, options.limits.navigation_timeout_s
        )
    except CaptureError as exc:
        refused = recorder.refused_documents()
        if refused:
            # The URL, or a redirect hop, pointed at a private address.
            raise InvalidURLError(f"refusing to capture {url}: {refused[0][1]}") from None
        # The download event may arrive just after the navigation error.
        waited = 0
        while "download" in exc.message and not events.download_started and waited < 3000:
            page.wait_for_timeout(100)
            waited += 100
        if not events.download_started:
            raise
        # The URL is an attachment: the file is the evidence; the page stays blank.
        status, response_url, chain, server_ip = None, url, [url], ""
        events.note(f"the URL {url} is a download, not a page; the file is saved as a download")
    check_document_address(
        response_url, server_ip, allow_private=safety.allow_private_targets,
        allowed_hosts=safety.allowed_private_hosts,
    )  # fmt: skip
    return _Arrival(status, response_url, tuple(chain), server_ip)


def _first_view(
    page: Page, workdir: Path, options: CaptureOptions, clock: Clock
) -> tuple[FirstView, list[str]]:
    """Photograph the viewport once the page has loaded, before any step or scrolling.

    The wait for ``load`` is bounded by half the settle timeout: a page whose
    load event never comes is still photographed, and the record says so.
    """
    warnings: list[str] = []
    wait_s = options.limits.settle_timeout_s / 2
    try:
        page.wait_for_load_state("load", timeout=wait_s * 1000)
    except PlaywrightError as exc:  # includes the timeout
        reason = (
            f"the load event did not fire within {wait_s:g} s"
            if isinstance(exc, PlaywrightTimeoutError)
            else first_line(exc)
        )
        warnings.append(f"the first-screen shot was taken before the page had loaded ({reason})")
    path = workdir / VIEWPORT_NAME
    taken_at = clock()
    timeout_s = options.limits.navigation_timeout_s
    try:
        take_viewport(page, path, timeout_s * 1000)
    except PlaywrightTimeoutError:
        raise CaptureError(
            f"could not capture {page.url}: first-screen shot timed out after {timeout_s:g} s"
        ) from None
    return FirstView(path, taken_at), warnings


def _interact(
    page: Page, workdir: Path, options: CaptureOptions, clock: Clock, recorder: TrafficRecorder
) -> tuple[list[StepResult], list[Path], list[str]]:
    """Run the officer's steps, then let the page settle; warnings for what did not finish."""
    safety = options.safety
    step_results: list[StepResult] = []
    step_shots: list[Path] = []
    if options.interaction.steps:
        step_results, step_shots = run_steps(
            page, options.interaction.steps, workdir, clock=clock,
            timeout_s=options.interaction.step_timeout_s,
            check_url=lambda target: check_target(
                target, allow_private=safety.allow_private_targets,
                allowed_hosts=safety.allowed_private_hosts,
            ),
        )  # fmt: skip
    warnings = settle(page, recorder, options)
    failed_steps = [r for r in step_results if r.outcome.startswith("failed")]
    if failed_steps:
        failed = failed_steps[0]
        warnings.append(f"navigation step {failed.index} ({failed.description}) {failed.outcome}")
    return step_results, step_shots, warnings


def _photograph(page: Page, url: str, workdir: Path, options: CaptureOptions) -> Screenshots:
    timeout_s = options.limits.navigation_timeout_s
    try:
        return take_screenshots(
            page,
            workdir,
            tile_height=options.screenshots.tile_height,
            max_stitch_pixels=options.screenshots.max_stitch_pixels,
            timeout_ms=timeout_s * 1000,
        )
    except PlaywrightTimeoutError:
        raise CaptureError(
            f"could not capture {url}: screenshot timed out after {timeout_s:g} s"
        ) from None


def _moved_itself(
    response_url: str,
    final_url: str,
    exchanges: tuple[RecordedExchange, ...],
    options: CaptureOptions,
) -> list[str]:
    if urldefrag(final_url).url == urldefrag(response_url).url:
        return []
    # The browser's Local Network Access blocks a public page's subresources
    # and frames on private addresses, but not a top-level navigation by script.
    check_document_address(
        final_url, exchange_ip(exchanges, final_url),
        allow_private=options.safety.allow_private_targets,
        allowed_hosts=options.safety.allowed_private_hosts,
    )  # fmt: skip
    if options.interaction.steps:
        return []  # the steps moved it; they are recorded
    return [f"the page moved itself from {response_url} to {final_url} after loading"]


def exchange_ip(exchanges: tuple[RecordedExchange, ...], url: str) -> str:
    """The server address of the last recorded response for ``url`` ("" when none)."""
    for exchange in reversed(exchanges):
        if exchange.url == url and exchange.server_ip:
            return exchange.server_ip
    return ""


def _document_guard(options: CaptureOptions) -> Callable[[str], str | None] | None:
    safety = options.safety
    if safety.allow_private_targets:
        return None

    def guard(url: str) -> str | None:
        return private_target_reason(
            url,
            allow_private=False,
            allowed_hosts=safety.allowed_private_hosts,
            resolve_timeout_s=_GUARD_DNS_TIMEOUT_S,
        )

    return guard


def _start_screencast(
    context: BrowserContext,
    page: Page,
    workdir: Path,
    options: CaptureOptions,
    viewport: tuple[int, int],
) -> tuple[ScreencastRecorder | None, str]:
    if options.interaction.record_video is False:
        return None, "video recording was turned off"
    if ffmpeg_path() is None:
        return None, "ffmpeg is not installed"
    try:
        screencast = ScreencastRecorder(
            context.new_cdp_session(page), workdir, viewport[0], viewport[1]
        )
        screencast.start(page.url)
    except PlaywrightError as exc:
        return None, f"the browser refused the screencast: {first_line(exc)}"
    return screencast, ""


def _page_content(page: Page) -> str:
    try:
        return page.content()
    except PlaywrightError:
        # A page that navigates by script right now refuses; once more after it loads.
        with contextlib.suppress(PlaywrightError):
            page.wait_for_load_state("load", timeout=2000)
        return page.content()


def _traffic_warnings(
    recorder: TrafficRecorder, exchanges: tuple[RecordedExchange, ...]
) -> list[str]:
    failures = [f"{u} ({e})" for u, e in recorder.failures()]
    incomplete = [
        f"{e.url} ({e.body_note})" for e in exchanges if e.truncated and not 300 <= e.status < 400
    ]
    refused = [u for u, _ in recorder.refused_documents()]
    blocked = recorder.blocked_private()
    unrecorded = recorder.unrecorded()
    warnings = []
    if failures:
        warnings.append(f"{len(failures)} request(s) failed: {_first_three(failures)}")
    if incomplete:
        warnings.append(
            f"{len(incomplete)} response body(ies) incomplete in the WARC: "
            f"{_first_three(incomplete)}"
        )
    if refused:
        warnings.append(
            f"stopped {len(refused)} navigation(s) of the page or its frames to private or "
            f"loopback addresses before they were sent: {_first_three(refused)}"
        )
    if blocked:
        warnings.append(
            f"the browser blocked {len(blocked)} request(s) from the page to private or "
            f"loopback addresses (nothing was sent): {_first_three(blocked)}"
        )
    if unrecorded:
        warnings.append(
            f"{len(unrecorded)} response(s) used by the page are not in the WARC: "
            f"{_first_three(unrecorded)}"
        )
    return warnings


def _first_three(items: list[str]) -> str:
    more = f", and {len(items) - 3} more" if len(items) > 3 else ""
    return ", ".join(items[:3]) + more
