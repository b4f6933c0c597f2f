"""One capture: browser, recorder, screenshot, DOM and WARC put together."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urldefrag

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from capture import _supporting as extras
from capture._browser import first_line, launch, navigate, settle
from capture._driver import driver
from capture._guard import check_document_address, check_target, private_target_reason
from capture._recorder import RecordedExchange, TrafficRecorder
from capture._robust import (
    PageEvents,
    Watchdog,
    context_arguments,
    page_flags,
    read_storage_state,
)
from capture._screenshot import Screenshots, take_screenshots
from capture._steps import run_steps
from capture._urls import validate_url
from capture._video import (
    FRAMES_NAME,
    VIDEO_MEDIA_TYPE,
    VIDEO_NAME,
    ScreencastRecorder,
    VideoResult,
    ffmpeg_path,
)
from capture._warc import ResourceFile, warcinfo_fields, write_capture_warc
from evidence.model.errors import CaptureError, InvalidURLError
from evidence.model.records import (
    CapturedFile,
    CaptureOptions,
    CaptureRecord,
    Clock,
    HttpExchange,
    IdFactory,
    StepResult,
    random_id,
    system_clock,
)

logger = logging.getLogger(__name__)

SCREENSHOT_NAME = "screenshot.png"
DOM_NAME = "dom.html"
WARC_NAME = "capture.warc"

SCREENSHOT_URN = "urn:evidence:screenshot:"
DOM_URN = "urn:evidence:dom:"
VIEWPORT_URN = "urn:evidence:viewport-screenshot:"
TILE_URN = "urn:evidence:screenshot-tile:"
STEP_SHOT_URN = "urn:evidence:step-screenshot:"

# A byte order mark makes browsers read the file as UTF-8 even though the
# saved DOM may still say <meta charset="gbk">, as the captured page did.
_UTF8_BOM = "\ufeff"
_GUARD_DNS_TIMEOUT_S = 2.0
"""A document's host that takes longer to resolve is let through (checked again after)."""


@dataclass(frozen=True, slots=True)
class _PageResult:
    http_status: int | None
    response_url: str
    redirect_chain: tuple[str, ...]
    server_ip: str
    final_url: str
    title: str
    browser_version: str
    screenshot_at: datetime
    dom_at: datetime
    exchanges: tuple[RecordedExchange, ...]
    warnings: tuple[str, ...]
    # -- issue 4B: screenshots, device, steps, page events, video --
    screenshots: Screenshots
    user_agent: str = ""
    viewport: tuple[int, int] = (0, 0)
    device: str = ""
    device_scale_factor: int = 1
    is_mobile: bool = False
    steps: tuple[StepResult, ...] = ()
    step_shots: tuple[Path, ...] = ()
    storage_state_sha256: str = ""
    dialogs: tuple[str, ...] = ()
    popups: tuple[str, ...] = ()
    downloads: tuple[CapturedFile, ...] = ()
    flags: tuple[str, ...] = ()
    screencast: ScreencastRecorder | None = field(default=None, compare=False)
    video_note: str = ""


def capture_page(
    url: str,
    workdir: Path,
    options: CaptureOptions,
    clock: Clock = system_clock,
    *,
    id_factory: IdFactory = random_id,
) -> CaptureRecord:
    """Open ``url`` in a fresh headless Chromium and record what it shows and loads.

    Writes ``screenshot.png`` (full page), ``dom.html`` (rendered DOM, UTF-8)
    and ``capture.warc`` (WARC/1.1: the browser's own traffic with exact
    response bytes, plus the screenshot and DOM) into ``workdir``.

    Raises :class:`~evidence.model.errors.InvalidURLError` for a URL that cannot be
    captured and :class:`~evidence.model.errors.CaptureError` when no page arrives
    (DNS failure, refused or unreachable host, navigation timeout). An HTTP
    error status is captured like any page; its status is in the record.
    ``id_factory`` makes the WARC record ids (UUID strings) reproducible.
    """
    requested_url = validate_url(url)
    check_target(
        requested_url,
        allow_private=options.allow_private_targets,
        allowed_hosts=options.allowed_private_hosts,
    )
    workdir = Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        existing = set(workdir.iterdir())
    except OSError as exc:
        raise CaptureError(f"cannot use capture directory {workdir}: {exc.strerror}") from None
    screenshot_path = workdir / SCREENSHOT_NAME
    dom_path = workdir / DOM_NAME
    warc_path = workdir / WARC_NAME
    written: tuple[Path, ...] = (
        screenshot_path,
        dom_path,
        warc_path,
        warc_path.with_name(WARC_NAME + ".partial"),
    )
    more = extras.Extras.start(requested_url, workdir, options)  # issue 4A
    written += more.paths()

    started_at = clock()
    deadline = time.monotonic() + options.total_timeout_s
    videos: list[ScreencastRecorder] = []
    try:
        result = _run_browser(
            requested_url, screenshot_path, dom_path, options, clock, more,
            deadline=deadline, videos=videos,
        )  # fmt: skip
        video = _finish_video(result, workdir, deadline)
        more.after_browser(result.exchanges, result.redirect_chain, options, clock)  # issue 4A
        _write_warc(warc_path, result, screenshot_path, dom_path, options, clock, id_factory, more)
    except BaseException:
        for recorder in videos:
            recorder.wait()  # it may still be writing into workdir
        # A failed capture must not leave files that look like evidence.
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        # Tiles, step screenshots, downloads, video frames (issue 4B).
        for path in set(workdir.iterdir()) - existing:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
        raise
    finished_at = clock()
    logger.info(
        "captured %s -> %s: HTTP %s, %d responses, %d warning(s)",
        requested_url,
        result.final_url,
        result.http_status,
        len(result.exchanges),
        len(result.warnings),
    )

    server_ip = result.server_ip or _exchange_ip(result.exchanges, result.response_url)
    shots = result.screenshots
    files = [
        CapturedFile(shots.viewport, shots.viewport.name, "viewport-screenshot", "image/png"),
        *(CapturedFile(path, path.name, "screenshot-tile", "image/png") for path, _ in shots.tiles),
        *(CapturedFile(p, p.name, "step-screenshot", "image/png") for p in result.step_shots),
        *result.downloads,
    ]
    if video.video is not None and video.frames is not None:
        files.append(CapturedFile(video.video, VIDEO_NAME, "video", VIDEO_MEDIA_TYPE))
        files.append(CapturedFile(video.frames, FRAMES_NAME, "video-frames", "application/json"))
    warnings = result.warnings
    if video.note and options.record_video is not False:
        warnings += (f"no session video: {video.note}",)
    return CaptureRecord(
        requested_url=requested_url,
        final_url=result.final_url,
        redirect_chain=result.redirect_chain,
        started_at=started_at,
        finished_at=finished_at,
        page_title=result.title,
        http_status=result.http_status,
        server_ip=server_ip or None,
        user_agent=result.user_agent,
        browser_version=result.browser_version,
        viewport=result.viewport,
        files=(
            CapturedFile(screenshot_path, SCREENSHOT_NAME, "screenshot", "image/png"),
            CapturedFile(warc_path, WARC_NAME, "warc", "application/warc"),
            CapturedFile(dom_path, DOM_NAME, "dom", "text/html; charset=utf-8"),
            *more.files(),  # issue 4A: page.mhtml, page.pdf, environment.json, tls-chains.json
            *files,  # issue 4B: viewport, tiles, step screenshots, downloads, video
        ),
        exchanges=tuple(
            HttpExchange(
                url=e.url,
                method=e.method,
                status=e.status,
                server_ip=e.server_ip,
                mime_type=e.mime_type,
                body_size=len(e.body),
            )
            for e in result.exchanges
        ),
        warnings=warnings + more.warnings(),
        **more.record_fields(),  # issue 4A: hosts, tls, environment
        # -- issue 4B --
        device=result.device,
        locale=options.locale,
        timezone_id=options.timezone_id,
        device_scale_factor=result.device_scale_factor,
        is_mobile=result.is_mobile,
        page_height=shots.page_height,
        screenshot_tiles=tuple(tile for _, tile in shots.tiles),
        screenshot_stitched=shots.stitched,
        steps=result.steps,
        account_label=options.account_label,
        storage_state_sha256=result.storage_state_sha256,
        video_note=video.note,
        dialogs=result.dialogs,
        popups=result.popups,
        downloads=tuple(f.name for f in result.downloads),
        flags=result.flags,
    )


def _finish_video(result: _PageResult, workdir: Path, deadline: float) -> VideoResult:
    if result.screencast is None:
        return VideoResult(None, None, result.video_note)
    return result.screencast.result(workdir, deadline)


def _run_browser(
    url: str,
    screenshot_path: Path,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    more: extras.Extras,
    *,
    deadline: float,
    videos: list[ScreencastRecorder],
) -> _PageResult:
    with driver() as playwright:
        more.before_launch(options)  # issue 4A: refuse policy waits for the host checks
        browser = launch(playwright, options)
        watchdog = Watchdog(browser, options.total_timeout_s)
        events = PageEvents(options)
        try:
            return _capture_in_browser(
                browser, url, screenshot_path, dom_path, options, clock, more,
                playwright=playwright, events=events, deadline=deadline, videos=videos,
            )  # fmt: skip
        except (PlaywrightError, CaptureError) as exc:
            if watchdog.fired:
                raise CaptureError(
                    f"could not capture {url}: gave up after the total timeout of "
                    f"{options.total_timeout_s:g} s"
                ) from None
            if events.page_closed:
                raise CaptureError(
                    f"could not capture {url}: the page closed its own window before it "
                    "could be photographed"
                ) from None
            if isinstance(exc, CaptureError):
                raise
            # Anything Playwright raises past navigation (a crashed tab, a closed
            # browser) ends the capture with one readable line.
            raise CaptureError(f"could not capture {url}: {first_line(exc)}") from None
        finally:
            watchdog.cancel()
            with contextlib.suppress(PlaywrightError):
                browser.close()


def _capture_in_browser(
    browser: Browser,
    url: str,
    screenshot_path: Path,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    more: extras.Extras,
    *,
    playwright: Playwright,
    events: PageEvents,
    deadline: float,
    videos: list[ScreencastRecorder],
) -> _PageResult:
    workdir = screenshot_path.parent
    emulation = context_arguments(playwright, options)
    storage_digest = read_storage_state(options.storage_state_path)
    try:
        context = browser.new_context(
            **emulation.arguments,
            locale=options.locale,
            timezone_id=options.timezone_id,
            # A service worker could answer requests the page's session never sees.
            service_workers="block",
            accept_downloads=True,
            storage_state=options.storage_state_path,
            ignore_https_errors=extras.ignore_https_errors(options),  # issue 4A
        )
    except PlaywrightError as exc:
        raise CaptureError(f"could not open a browser context: {first_line(exc)}") from None
    more.check_browser(context, options)  # issue 4A: chrome://version before the page opens
    page = context.new_page()
    events.attach(context, page)
    recorder = TrafficRecorder(
        context.new_cdp_session(page),
        clock,
        max_body_bytes=options.max_response_bytes,
        document_guard=_document_guard(options),
    )
    recorder.start()
    screencast, video_note = _start_screencast(context, page, workdir, options, emulation.viewport)
    if screencast is not None:
        videos.append(screencast)

    try:
        status, response_url, chain, server_ip = navigate(page, url, options.navigation_timeout_s)
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
        response_url, server_ip, allow_private=options.allow_private_targets,
        allowed_hosts=options.allowed_private_hosts,
    )  # fmt: skip
    step_results: list[StepResult] = []
    step_shots: list[Path] = []
    if options.steps:
        step_results, step_shots = run_steps(
            page, options.steps, workdir, clock=clock, timeout_s=options.step_timeout_s,
            check_url=lambda target: check_target(
                target, allow_private=options.allow_private_targets,
                allowed_hosts=options.allowed_private_hosts,
            ),
        )  # fmt: skip
    warnings = settle(page, recorder, options)
    failed_steps = [r for r in step_results if r.outcome.startswith("failed")]
    if failed_steps:
        failed = failed_steps[0]
        warnings.append(f"navigation step {failed.index} ({failed.description}) {failed.outcome}")

    if screencast is not None:
        # The session ends with the settled page as the officer sees it. The
        # full-page screenshot resizes the view to the whole page; recording
        # that would cost a read-back of the whole page per frame and show
        # nothing a person saw. ffmpeg muxes the frames meanwhile.
        screencast.stop()
        screencast.write_in_background(workdir, deadline)
    timeout_ms = options.navigation_timeout_s * 1000
    screenshot_at = clock()
    try:
        shots = take_screenshots(
            page,
            workdir,
            tile_height=options.tile_height,
            max_stitch_pixels=options.max_stitch_pixels,
            timeout_ms=timeout_ms,
        )
    except PlaywrightTimeoutError:
        raise CaptureError(
            f"could not capture {url}: screenshot timed out after "
            f"{options.navigation_timeout_s:g} s"
        ) from None
    warnings.extend(shots.warnings)
    dom_at = clock()
    dom = _page_content(page)
    dom_path.write_text(_UTF8_BOM + dom, encoding="utf-8")
    title = page.title()
    final_url = page.url
    more.save_page_copies(page, context, clock, options)  # issue 4A: MHTML and printed PDF

    more.take_network_log(recorder)  # issue 4A
    recorder.stop()
    exchanges = tuple(recorder.exchanges())
    warnings.extend(_traffic_warnings(recorder, exchanges))
    if urldefrag(final_url).url != urldefrag(response_url).url:
        # The browser's Local Network Access blocks a public page's subresources
        # and frames on private addresses, but not a top-level navigation by script.
        check_document_address(
            final_url, _exchange_ip(exchanges, final_url),
            allow_private=options.allow_private_targets,
            allowed_hosts=options.allowed_private_hosts,
        )  # fmt: skip
        if not options.steps:
            warnings.append(
                f"the page moved itself from {response_url} to {final_url} after loading"
            )
    downloads = events.save_downloads(workdir)
    warnings.extend(events.warnings())
    flags, flag_warnings = page_flags(status, title, dom, warnings, exchanges)
    warnings.extend(flag_warnings)

    return _PageResult(
        http_status=status,
        response_url=response_url,
        redirect_chain=tuple(chain),
        server_ip=server_ip,
        final_url=final_url,
        title=title,
        browser_version=browser.version,
        screenshot_at=screenshot_at,
        dom_at=dom_at,
        exchanges=exchanges,
        warnings=tuple(warnings),
        screenshots=shots,
        user_agent=emulation.user_agent,
        viewport=emulation.viewport,
        device=emulation.name,
        device_scale_factor=emulation.device_scale_factor,
        is_mobile=emulation.is_mobile,
        steps=tuple(step_results),
        step_shots=tuple(step_shots),
        storage_state_sha256=storage_digest,
        dialogs=events.dialog_log(),
        popups=tuple(events.popups),
        downloads=tuple(downloads),
        flags=tuple(flags),
        screencast=screencast,
        video_note=video_note,
    )


def _document_guard(options: CaptureOptions) -> Callable[[str], str | None] | None:
    if options.allow_private_targets:
        return None

    def guard(url: str) -> str | None:
        return private_target_reason(
            url,
            allow_private=False,
            allowed_hosts=options.allowed_private_hosts,
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
    if options.record_video is False:
        return None, "video recording was turned off"
    if ffmpeg_path() is None:
        return None, "ffmpeg is not installed"
    try:
        screencast = ScreencastRecorder(
            context.new_cdp_session(page), workdir, viewport[0], viewport[1]
        )
        screencast.start()
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
        f"{e.url} ({e.body_note})"
        for e in exchanges
        if e.truncated and not 300 <= e.status < 400
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


def _write_warc(
    path: Path,
    result: _PageResult,
    screenshot_path: Path,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    id_factory: IdFactory,
    more: extras.Extras,
) -> None:
    software = options.software
    if options.software_version:
        software = f"{software}/{options.software_version}"
    try:
        write_capture_warc(
            path,
            exchanges=result.exchanges,
            resources=(
                ResourceFile(
                    SCREENSHOT_URN + result.final_url,
                    screenshot_path,
                    "image/png",
                    result.screenshot_at,
                ),
                ResourceFile(
                    DOM_URN + result.final_url,
                    dom_path,
                    "text/html; charset=utf-8",
                    result.dom_at,
                ),
                *_extra_resources(result),  # issue 4B: viewport, tiles, step screenshots
                *more.resources(result.final_url),  # issue 4A: MHTML, PDF
            ),
            metadata=more.metadata(result.final_url, clock),  # issue 4A
            page_url=result.response_url,
            warcinfo=warcinfo_fields(
                software=software,
                operator=options.operator,
                user_agent=options.user_agent,
                browser=f"Chromium {result.browser_version}",
            ),
            clock=clock,
            id_factory=id_factory,
        )
    except OSError as exc:
        raise CaptureError(f"could not write {path}: {exc.strerror or exc}") from None


def _exchange_ip(exchanges: tuple[RecordedExchange, ...], url: str) -> str:
    for exchange in reversed(exchanges):
        if exchange.url == url and exchange.server_ip:
            return exchange.server_ip
    return ""


def _extra_resources(result: _PageResult) -> list[ResourceFile]:
    shots = result.screenshots
    at = result.screenshot_at
    resources = [ResourceFile(VIEWPORT_URN + result.final_url, shots.viewport, "image/png", at)]
    resources.extend(
        ResourceFile(f"{TILE_URN}{tile.index}:{result.final_url}", path, "image/png", at)
        for path, tile in shots.tiles
    )
    resources.extend(
        ResourceFile(STEP_SHOT_URN + path.name, path, "image/png", at) for path in result.step_shots
    )
    return resources
