"""Exhibits are what their labels say: the first screen is the page as it loaded.

A real Chromium capture of a local page whose content changes on a click:
the first-screen (viewport) shot must show the page before the click, the
shot after the click step the page after it, each a separate exhibit linked
to its step in the record, the manifest form and the WARC.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from capture import capture_page
from evidence import Settings, Verdict
from evidence.model.capture_options import (
    CaptureOptions,
    CaptureStep,
    InteractionOptions,
    LimitOptions,
    SafetyOptions,
    StepAction,
)
from evidence.model.capture_record import CaptureRecord
from evidence.model.manifest import canonical_json, capture_from_json, capture_to_json
from evidence.model.records import VerificationReport
from tests.conftest import require, require_tool
from tests.test_verify_checks import Captured, capture_bundle, copy_of
from tests.warc_reading import read_warc

pytestmark = pytest.mark.slow

BEFORE = (200, 30, 30)
AFTER = (30, 60, 200)
_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>切换</title><style>"
    "html,body{margin:0;height:100%}"
    "#panel{height:100%;background:rgb(200,30,30);font:bold 48px sans-serif;color:#fff}"
    "#panel.after{background:rgb(30,60,200)}"
    "#flip{position:fixed;right:20px;bottom:20px;width:120px;height:60px}"
    "</style></head><body><div id='panel'>BEFORE</div>"
    "<button id='flip' onclick=\"const p=document.getElementById('panel');"
    "p.className='after';p.textContent='AFTER'\">flip</button></body></html>"
)

OPTIONS = CaptureOptions(
    safety=SafetyOptions(allow_private_targets=True),
    interaction=InteractionOptions(record_video=False),
    limits=LimitOptions(settle_timeout_s=2.0, navigation_timeout_s=10.0, total_timeout_s=60.0),
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = _PAGE.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def flip_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/flip.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def clicked(flip_page: str, tmp_path_factory: pytest.TempPathFactory) -> CaptureRecord:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    steps = (
        CaptureStep(StepAction.CLICK, target="#flip"),
        CaptureStep(StepAction.WAIT, amount=100),
    )
    return capture_page(
        flip_page,
        tmp_path_factory.mktemp("flip"),
        replace(OPTIONS, interaction=replace(OPTIONS.interaction, steps=steps)),
    )


def _file(record: CaptureRecord, role: str) -> list[Path]:
    return [f.path for f in record.files if f.role == role]


def _colour(path: Path) -> tuple[int, int, int]:
    with Image.open(path) as image:
        pixel = image.convert("RGB").getpixel((200, 300))
    assert isinstance(pixel, tuple)
    return (pixel[0], pixel[1], pixel[2])


def _near(got: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(got, want, strict=True))


def test_first_screen_shows_the_page_before_any_step(clicked: CaptureRecord) -> None:
    (viewport,) = _file(clicked, "viewport-screenshot")
    assert _near(_colour(viewport), BEFORE), _colour(viewport)


def test_the_step_shot_shows_the_page_after_the_click(clicked: CaptureRecord) -> None:
    (shot,) = _file(clicked, "step-screenshot")
    assert shot.name == "step-01-after.png"
    assert _near(_colour(shot), AFTER), _colour(shot)
    # The full-page screenshot is the page as it was left after the steps.
    (full,) = _file(clicked, "screenshot")
    assert _near(_colour(full), AFTER)


def test_the_step_shot_is_linked_to_its_step_in_the_manifest_form(
    clicked: CaptureRecord,
) -> None:
    click, wait = clicked.interaction.steps
    assert (click.index, click.description, click.outcome) == (1, "click #flip", "ok")
    assert click.artifact == "step-01-after.png"
    assert wait.artifact == ""  # a wait changes nothing on the page: no shot
    form = capture_to_json(clicked)
    assert form["steps"][0]["artifact"] == "step-01-after.png"
    back = capture_from_json(json.loads(canonical_json(form)))
    assert back.interaction.steps[0].artifact == "step-01-after.png"


def test_each_shot_is_dated_when_it_was_taken_in_the_warc(clicked: CaptureRecord) -> None:
    (warc,) = _file(clicked, "warc")
    dates = {
        record.uri.split(":")[2]: datetime.fromisoformat(str(record.header("WARC-Date")))
        for record in read_warc(warc)
        if record.uri.startswith(("urn:evidence:viewport-screenshot:", "urn:evidence:step-"))
    }
    click = clicked.interaction.steps[0]
    # The first screen before the click began; the step's shot when the click had ended.
    assert dates["viewport-screenshot"] <= click.started_at
    assert set(dates) == {"viewport-screenshot", "step-screenshot"}
    # WARC-Date may be whole seconds: compare at that precision.
    started = click.started_at.replace(microsecond=0)
    assert started <= dates["step-screenshot"] <= click.finished_at
    assert dates["viewport-screenshot"] <= dates["step-screenshot"]


# --- the session video's span against the capture's -----------------------------------


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    require_tool("ffmpeg")
    require_tool("ffprobe")
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("video-span"))


def _span_result(report: VerificationReport) -> tuple[Verdict, str]:
    (found,) = [
        (c.verdict, c.detail) for c in report.checks if c.subject.endswith("session.mkv (span)")
    ]
    return found


def test_the_video_span_is_in_the_manifest_and_within_the_capture(captured: Captured) -> None:
    manifest = json.loads((captured.unpacked / "manifest.json").read_text("utf-8"))
    capture = manifest["capture"]
    span = capture["video_span"]
    listing = json.loads((captured.unpacked / "artifacts/video-frames.json").read_text("utf-8"))
    assert span["first_frame_at"] == listing["frames"][0]["time"]
    assert span["last_frame_at"] == listing["frames"][-1]["time"]
    assert capture["started_at"] <= span["first_frame_at"] <= span["last_frame_at"]
    assert span["last_frame_at"] <= capture["finished_at"]
    verdict, detail = _span_result(captured.kit.verify(captured.unpacked, offline=True))
    assert verdict is Verdict.PASS, detail
    assert "within the capture's" in detail and "not in the video" in detail


def test_a_span_unlike_the_listed_frames_is_a_failure(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "late")
    path = bad / "artifacts/video-frames.json"
    listing = json.loads(path.read_text("utf-8"))
    listing["frames"][-1]["time"] = "2099-01-01T00:00:00.000Z"
    path.write_text(json.dumps(listing), encoding="utf-8")
    verdict, detail = _span_result(captured.kit.verify(bad, offline=True))
    assert verdict is Verdict.FAIL and "differs from the frames listed" in detail


def test_frames_painted_outside_the_capture_are_a_failure(
    captured: Captured, tmp_path: Path
) -> None:
    # The capture said to start after the video's first frame: the video is not of it.
    bad = copy_of(captured.unpacked, tmp_path / "early")
    path = bad / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["capture"]["started_at"] = manifest["capture"]["finished_at"]
    path.write_bytes(canonical_json(manifest))
    verdict, detail = _span_result(captured.kit.verify(bad, offline=True))
    assert verdict is Verdict.FAIL and "outside the capture's span" in detail
