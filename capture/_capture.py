"""One capture: browser, recorder, screenshot, DOM and WARC put together."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from capture._browser import first_line, launch
from capture._driver import driver
from capture._guard import check_target
from capture._robust import PageEvents, Watchdog
from capture._supporting import SupportingEvidence
from capture._urls import validate_url
from capture._video import (
    FRAMES_NAME,
    VIDEO_MEDIA_TYPE,
    VIDEO_NAME,
    ScreencastRecorder,
    VideoResult,
)
from capture._video_annotate import (
    ANNOTATED_MEDIA_TYPE,
    ANNOTATED_ROLE,
    AnnotationResult,
    annotate_video,
)
from capture._visit import PageVisit, exchange_ip, visit_page
from capture._warc import ResourceFile, warcinfo_fields, write_capture_warc
from evidence.model.capture_options import CaptureOptions
from evidence.model.capture_record import (
    CapturedFile,
    CapturedPage,
    CaptureRecord,
    HttpExchange,
)
from evidence.model.errors import CaptureError
from evidence.model.records import Clock, IdFactory, random_id, system_clock

logger = logging.getLogger(__name__)

SCREENSHOT_NAME = "screenshot.png"
DOM_NAME = "dom.html"
WARC_NAME = "capture.warc"

SCREENSHOT_URN = "urn:evidence:screenshot:"
DOM_URN = "urn:evidence:dom:"
VIEWPORT_URN = "urn:evidence:viewport-screenshot:"
TILE_URN = "urn:evidence:screenshot-tile:"
STEP_SHOT_URN = "urn:evidence:step-screenshot:"


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
    response bytes, plus the screenshot and DOM) into ``workdir``, beside the
    supporting evidence (page copies, environment check, TLS chains), the
    viewport shot, tiles, step screenshots, downloads and the session video.

    Raises :class:`~evidence.model.errors.InvalidURLError` for a URL that cannot be
    captured and :class:`~evidence.model.errors.CaptureError` when no page arrives
    (DNS failure, refused or unreachable host, navigation timeout). An HTTP
    error status is captured like any page; its status is in the record.
    ``id_factory`` makes the WARC record ids (UUID strings) reproducible.
    """
    requested_url = validate_url(url)
    check_target(
        requested_url,
        allow_private=options.safety.allow_private_targets,
        allowed_hosts=options.safety.allowed_private_hosts,
    )
    where = _Workdir.prepare(Path(workdir))
    support = SupportingEvidence.start(requested_url, where.root, options)
    started_at = clock()
    deadline = time.monotonic() + options.limits.total_timeout_s
    videos: list[ScreencastRecorder] = []
    try:
        visit = _run_browser(
            requested_url, where.dom, options, clock, support, deadline=deadline, videos=videos
        )
        video = _finish_video(visit, where.root, deadline)
        support.after_browser(visit.exchanges, visit.redirect_chain, options, clock)
        _write_warc(where, visit, options, clock, id_factory, support)
    except BaseException:
        for recorder in videos:
            recorder.wait()  # it may still be writing into workdir
        # A failed capture must not leave files that look like evidence.
        where.remove_capture_files(support.paths())
        raise
    finished_at = clock()
    # The viewing copy is derived after the capture's span: it adds nothing the
    # browser saw, and encoding it must not widen what the video has to cover.
    annotation = _annotate_video(video, options, deadline)
    logger.info(
        "captured %s -> %s: HTTP %s, %d responses, %d warning(s)",
        requested_url,
        visit.final_url,
        visit.http_status,
        len(visit.exchanges),
        len(visit.warnings),
    )
    page = CapturedPage(
        requested_url=requested_url,
        final_url=visit.final_url,
        redirect_chain=visit.redirect_chain,
        title=visit.title,
        http_status=visit.http_status,
        server_ip=visit.server_ip or exchange_ip(visit.exchanges, visit.response_url) or None,
        started_at=started_at,
        finished_at=finished_at,
    )
    return _record(page, visit, video, annotation, support, where, options)


@dataclass(frozen=True, slots=True)
class _Workdir:
    """The capture's working directory, the fixed names in it, and what was there before."""

    root: Path
    existing: frozenset[Path]

    @classmethod
    def prepare(cls, root: Path) -> _Workdir:
        try:
            root.mkdir(parents=True, exist_ok=True)
            return cls(root, frozenset(root.iterdir()))
        except OSError as exc:
            raise CaptureError(f"cannot use capture directory {root}: {exc.strerror}") from None

    @property
    def screenshot(self) -> Path:
        return self.root / SCREENSHOT_NAME

    @property
    def dom(self) -> Path:
        return self.root / DOM_NAME

    @property
    def warc(self) -> Path:
        return self.root / WARC_NAME

    def remove_capture_files(self, supporting: tuple[Path, ...]) -> None:
        """The files a capture writes, and anything new (tiles, downloads, video frames)."""
        partial = self.warc.with_name(WARC_NAME + ".partial")
        for path in (self.screenshot, self.dom, self.warc, partial, *supporting):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        for path in set(self.root.iterdir()) - self.existing:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)


def _record(
    page: CapturedPage,
    visit: PageVisit,
    video: VideoResult,
    annotation: AnnotationResult,
    support: SupportingEvidence,
    where: _Workdir,
    options: CaptureOptions,
) -> CaptureRecord:
    warnings = visit.warnings
    if video.note and options.interaction.record_video is not False:
        warnings += (f"no session video: {video.note}",)
    if annotation.note:
        warnings += (
            f"no annotated copy of the session video (address and time): {annotation.note}",
        )
    return CaptureRecord(
        page=page,
        rendering=visit.rendering,
        provenance=support.provenance(visit.user_agent, visit.browser_version),
        files=(
            CapturedFile(where.screenshot, SCREENSHOT_NAME, "screenshot", "image/png"),
            CapturedFile(where.warc, WARC_NAME, "warc", "application/warc"),
            CapturedFile(where.dom, DOM_NAME, "dom", "text/html; charset=utf-8"),
            *support.files(),
            *_picture_files(visit, video),
            *_annotated_files(annotation),
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
            for e in visit.exchanges
        ),
        warnings=warnings + support.warnings(),
        flags=visit.flags,
        screenshots=visit.screenshots.layout(),
        interaction=replace(
            visit.interaction,
            video_note=video.note,
            video_span=video.span,
            video_annotated=annotation.annotated,
        ),
        environment=support.environment(),
    )


def _picture_files(visit: PageVisit, video: VideoResult) -> list[CapturedFile]:
    """The viewport shot, tiles, step screenshots, downloads and the session video."""
    shots = visit.screenshots
    viewport = visit.first_view.path
    files = [
        CapturedFile(viewport, viewport.name, "viewport-screenshot", "image/png"),
        *(CapturedFile(path, path.name, "screenshot-tile", "image/png") for path, _ in shots.tiles),
        *(CapturedFile(p, p.name, "step-screenshot", "image/png") for p in visit.step_shots),
        *visit.downloads,
    ]
    if video.video is not None and video.frames is not None:
        files.append(CapturedFile(video.video, VIDEO_NAME, "video", VIDEO_MEDIA_TYPE))
        files.append(CapturedFile(video.frames, FRAMES_NAME, "video-frames", "application/json"))
    return files


def _annotated_files(annotation: AnnotationResult) -> list[CapturedFile]:
    if annotation.path is None:
        return []
    name = annotation.path.name
    return [CapturedFile(annotation.path, name, ANNOTATED_ROLE, ANNOTATED_MEDIA_TYPE)]


ANNOTATION_MIN_TIMEOUT_S = 30.0
"""The copy is re-encoded: a long video may need longer than the capture has left."""


def _annotate_video(
    video: VideoResult, options: CaptureOptions, deadline: float
) -> AnnotationResult:
    if video.video is None or video.frames is None:
        return AnnotationResult(None, None, "")  # the missing video has its own warning
    timeout_s = max(deadline - time.monotonic(), ANNOTATION_MIN_TIMEOUT_S)
    return annotate_video(video.video, video.frames, timeout_s)


def _finish_video(visit: PageVisit, workdir: Path, deadline: float) -> VideoResult:
    if visit.screencast is None:
        return VideoResult(None, None, visit.video_note)
    return visit.screencast.result(workdir, deadline)


def _run_browser(
    url: str,
    dom_path: Path,
    options: CaptureOptions,
    clock: Clock,
    support: SupportingEvidence,
    *,
    deadline: float,
    videos: list[ScreencastRecorder],
) -> PageVisit:
    total_timeout_s = options.limits.total_timeout_s
    with driver() as playwright:
        support.before_launch(options)  # the refuse policy waits for the host checks here
        browser = launch(playwright, options)
        watchdog = Watchdog(browser, total_timeout_s)
        events = PageEvents(options)
        try:
            return visit_page(
                browser, url, dom_path, options, clock, support,
                playwright=playwright, events=events, deadline=deadline, videos=videos,
            )  # fmt: skip
        except (PlaywrightError, CaptureError) as exc:
            if watchdog.fired:
                raise CaptureError(
                    f"could not capture {url}: gave up after the total timeout of "
                    f"{total_timeout_s:g} s"
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


def _write_warc(
    where: _Workdir,
    visit: PageVisit,
    options: CaptureOptions,
    clock: Clock,
    id_factory: IdFactory,
    support: SupportingEvidence,
) -> None:
    provenance = options.provenance
    software = provenance.software
    if provenance.software_version:
        software = f"{software}/{provenance.software_version}"
    try:
        write_capture_warc(
            where.warc,
            exchanges=visit.exchanges,
            resources=(
                ResourceFile(
                    SCREENSHOT_URN + visit.final_url,
                    where.screenshot,
                    "image/png",
                    visit.screenshot_at,
                ),
                ResourceFile(
                    DOM_URN + visit.final_url,
                    where.dom,
                    "text/html; charset=utf-8",
                    visit.dom_at,
                ),
                *_picture_resources(visit),
                *support.resources(visit.final_url),
            ),
            metadata=support.metadata(visit.final_url, clock),
            page_url=visit.response_url,
            warcinfo=warcinfo_fields(
                software=software,
                operator=provenance.operator,
                user_agent=options.rendering.user_agent,
                browser=f"Chromium {visit.browser_version}",
            ),
            clock=clock,
            id_factory=id_factory,
        )
    except OSError as exc:
        raise CaptureError(f"could not write {where.warc}: {exc.strerror or exc}") from None


def _picture_resources(visit: PageVisit) -> list[ResourceFile]:
    """The viewport shot, tiles and step screenshots as WARC resource records.

    Each record's date is when its picture was taken: the first screen before
    the steps, each step's shot when its step ended, the tiles with the page.
    """
    shots = visit.screenshots
    at = visit.screenshot_at
    first = visit.first_view
    resources = [
        ResourceFile(VIEWPORT_URN + visit.final_url, first.path, "image/png", first.taken_at)
    ]
    resources.extend(
        ResourceFile(f"{TILE_URN}{tile.index}:{visit.final_url}", path, "image/png", at)
        for path, tile in shots.tiles
    )
    taken = {step.artifact: step.finished_at for step in visit.interaction.steps if step.artifact}
    resources.extend(
        ResourceFile(STEP_SHOT_URN + path.name, path, "image/png", taken.get(path.name, at))
        for path in visit.step_shots
    )
    return resources
