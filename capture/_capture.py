"""One capture: browser, recorder, screenshot, DOM and WARC put together."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urldefrag

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from capture._browser import first_line, launch, navigate, settle
from capture._recorder import RecordedExchange, TrafficRecorder
from capture._urls import validate_url
from capture._warc import ResourceFile, warcinfo_fields, write_capture_warc
from evidence.errors import CaptureError
from evidence.records import (
    CapturedFile,
    CaptureOptions,
    CaptureRecord,
    Clock,
    HttpExchange,
    IdFactory,
    random_id,
    system_clock,
)

logger = logging.getLogger(__name__)

SCREENSHOT_NAME = "screenshot.png"
DOM_NAME = "dom.html"
WARC_NAME = "capture.warc"

SCREENSHOT_URN = "urn:evidence:screenshot:"
DOM_URN = "urn:evidence:dom:"

# A byte order mark makes browsers read the file as UTF-8 even though the
# saved DOM may still say <meta charset="gbk">, as the captured page did.
_UTF8_BOM = "\ufeff"


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

    Raises :class:`~evidence.errors.InvalidURLError` for a URL that cannot be
    captured and :class:`~evidence.errors.CaptureError` when no page arrives
    (DNS failure, refused or unreachable host, navigation timeout). An HTTP
    error status is captured like any page; its status is in the record.
    ``id_factory`` makes the WARC record ids (UUID strings) reproducible.
    """
    requested_url = validate_url(url)
    workdir = Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CaptureError(f"cannot use capture directory {workdir}: {exc.strerror}") from None
    screenshot_path = workdir / SCREENSHOT_NAME
    dom_path = workdir / DOM_NAME
    warc_path = workdir / WARC_NAME
    written = (screenshot_path, dom_path, warc_path, warc_path.with_name(WARC_NAME + ".partial"))

    started_at = clock()
    try:
        result = _run_browser(requested_url, screenshot_path, dom_path, options, clock)
        _write_warc(warc_path, result, screenshot_path, dom_path, options, clock, id_factory)
    except BaseException:
        # A failed capture must not leave files that look like evidence.
        for path in written:
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
    return CaptureRecord(
        requested_url=requested_url,
        final_url=result.final_url,
        redirect_chain=result.redirect_chain,
        started_at=started_at,
        finished_at=finished_at,
        page_title=result.title,
        http_status=result.http_status,
        server_ip=server_ip or None,
        user_agent=options.user_agent,
        browser_version=result.browser_version,
        viewport=(options.viewport_width, options.viewport_height),
        files=(
            CapturedFile(screenshot_path, SCREENSHOT_NAME, "screenshot", "image/png"),
            CapturedFile(warc_path, WARC_NAME, "warc", "application/warc"),
            CapturedFile(dom_path, DOM_NAME, "dom", "text/html; charset=utf-8"),
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
        warnings=result.warnings,
    )


def _run_browser(
    url: str, screenshot_path: Path, dom_path: Path, options: CaptureOptions, clock: Clock
) -> _PageResult:
    with sync_playwright() as playwright:
        browser = launch(playwright, options)
        try:
            return _capture_in_browser(browser, url, screenshot_path, dom_path, options, clock)
        except PlaywrightError as exc:
            # Anything Playwright raises past navigation (a crashed tab, a closed
            # browser) ends the capture with one readable line.
            raise CaptureError(f"could not capture {url}: {first_line(exc)}") from None
        finally:
            with contextlib.suppress(PlaywrightError):
                browser.close()


def _capture_in_browser(
    browser: Browser,
    url: str,
    screenshot_path: Path,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
) -> _PageResult:
    try:
        context = browser.new_context(
            viewport={"width": options.viewport_width, "height": options.viewport_height},
            user_agent=options.user_agent,
            locale=options.locale,
            timezone_id=options.timezone_id,
            # A service worker could answer requests the page's session never sees.
            service_workers="block",
            accept_downloads=False,
        )
    except PlaywrightError as exc:
        raise CaptureError(f"could not open a browser context: {first_line(exc)}") from None
    page = context.new_page()
    recorder = TrafficRecorder(context.new_cdp_session(page), clock)
    recorder.start()

    status, response_url, chain, server_ip = navigate(page, url, options.navigation_timeout_s)
    warnings = settle(page, recorder, options)

    timeout_ms = options.navigation_timeout_s * 1000
    screenshot_at = clock()
    try:
        page.screenshot(path=screenshot_path, full_page=True, type="png", timeout=timeout_ms)
    except PlaywrightTimeoutError:
        raise CaptureError(
            f"could not capture {url}: screenshot timed out after "
            f"{options.navigation_timeout_s:g} s"
        ) from None
    dom_at = clock()
    dom_path.write_text(_UTF8_BOM + _page_content(page), encoding="utf-8")
    title = page.title()
    final_url = page.url

    recorder.stop()
    exchanges = tuple(recorder.exchanges())
    warnings.extend(_traffic_warnings(recorder, exchanges))
    if urldefrag(final_url).url != urldefrag(response_url).url:
        warnings.append(f"the page moved itself from {response_url} to {final_url} after loading")

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
    )


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
    warnings = []
    failures = recorder.failures()
    if failures:
        shown = ", ".join(f"{u} ({e})" for u, e in failures[:3])
        more = f", and {len(failures) - 3} more" if len(failures) > 3 else ""
        warnings.append(f"{len(failures)} request(s) failed: {shown}{more}")
    incomplete = [e for e in exchanges if e.truncated and not 300 <= e.status < 400]
    if incomplete:
        shown = ", ".join(f"{e.url} ({e.body_note})" for e in incomplete[:3])
        more = f", and {len(incomplete) - 3} more" if len(incomplete) > 3 else ""
        warnings.append(
            f"{len(incomplete)} response body(ies) incomplete in the WARC: {shown}{more}"
        )
    unrecorded = recorder.unrecorded()
    if unrecorded:
        shown = ", ".join(unrecorded[:3])
        more = f", and {len(unrecorded) - 3} more" if len(unrecorded) > 3 else ""
        warnings.append(
            f"{len(unrecorded)} response(s) used by the page are not in the WARC: {shown}{more}"
        )
    return warnings


def _write_warc(
    path: Path,
    result: _PageResult,
    screenshot_path: Path,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    id_factory: IdFactory,
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
            ),
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
