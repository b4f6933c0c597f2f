"""The session video covers the whole capture, and its viewing copy shows where and when.

One real capture (DemoSite, Chromium, ffmpeg, dev TSA, anvil), exported and
verified: the screencast runs until the last picture of the page is taken;
the verifier says how much of the capture's span the video does not show;
the annotated copy (address and time burnt in) is derived from the original
frame for frame, and the verifier fails a copy that is not.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from capture import _video_annotate as annotate
from capture import capture_page
from evidence import Settings, Verdict
from evidence.model.capture_options import CaptureOptions, LimitOptions, SafetyOptions
from evidence.model.manifest import canonical_json
from evidence.model.records import VerificationReport, isoformat
from tests.conftest import require, require_tool
from tests.test_verify_checks import Captured, capture_bundle, copy_of
from tests.warc_reading import read_warc

pytestmark = pytest.mark.slow

ART = "artifacts"


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    require_tool("ffmpeg")
    require_tool("ffprobe")
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("video-coverage"))


def _result(report: VerificationReport, suffix: str) -> tuple[Verdict, str]:
    (found,) = [
        (c.verdict, c.detail)
        for c in report.checks
        if c.check == "video.frames" and c.subject.endswith(suffix)
    ]
    return found


def _manifest(root: Path) -> dict[str, object]:
    loaded = json.loads((root / "manifest.json").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _edit_capture(root: Path, key: str, value: object) -> None:
    manifest = _manifest(root)
    capture = manifest["capture"]
    assert isinstance(capture, dict)
    if value is None:
        del capture[key]
    else:
        capture[key] = value
    (root / "manifest.json").write_bytes(canonical_json(manifest))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- coverage -----------------------------------------------------------------------


def test_the_video_runs_until_the_full_page_screenshot_is_taken(captured: Captured) -> None:
    listing = json.loads((captured.unpacked / ART / "video-frames.json").read_text("utf-8"))
    painted = [f["timestamp"] for f in listing["frames"]]
    painted += [f["timestamp"] for f in listing["not_in_video"]]
    (shot,) = [
        _moment(str(r.header("WARC-Date")))
        for r in read_warc(captured.unpacked / ART / "capture.warc")
        if r.uri.startswith("urn:evidence:screenshot:")
    ]
    # The full-page screenshot repaints the page: the screencast was still running.
    assert max(painted) > shot.timestamp()
    assert all(f["url"].startswith(("http://127.0.0.1", "about:blank")) for f in listing["frames"])
    assert listing["frames"][-1]["url"].startswith("http://127.0.0.1")


def test_coverage_is_stated_and_a_pass_only_within_two_seconds(captured: Captured) -> None:
    capture = _manifest(captured.unpacked)["capture"]
    assert isinstance(capture, dict)
    span = capture["video_span"]
    before = (_moment(span["first_frame_at"]) - _moment(capture["started_at"])).total_seconds()
    after = (_moment(capture["finished_at"]) - _moment(span["last_frame_at"])).total_seconds()
    verdict, detail = _result(captured.kit.verify(captured.unpacked, offline=True), "(coverage)")
    if before <= 2 and after <= 2:
        assert verdict is Verdict.PASS, detail
        assert f"{before:.1f} s at its start" in detail and f"{after:.1f} s at its end" in detail
    else:  # a loaded machine: the warning names what is missing
        assert verdict is Verdict.PASS and detail.startswith("WARNING"), detail


def test_a_capture_begun_long_before_the_first_frame_is_a_warning(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "early")
    capture = _manifest(bad)["capture"]
    assert isinstance(capture, dict)
    first = _moment(capture["video_span"]["first_frame_at"])
    _edit_capture(bad, "started_at", isoformat(first - timedelta(seconds=5.4)))
    report = captured.kit.verify(bad, offline=True)
    assert _result(report, "(span)")[0] is Verdict.PASS  # the frames are within the span
    verdict, detail = _result(report, "(coverage)")
    assert verdict is Verdict.PASS  # said, as a warning, not hidden behind a verdict
    assert detail.startswith("WARNING: the video does not show 5.4 s at the capture's start")


def test_a_capture_ended_long_after_the_last_frame_is_a_warning(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "late")
    capture = _manifest(bad)["capture"]
    assert isinstance(capture, dict)
    last = _moment(capture["video_span"]["last_frame_at"])
    _edit_capture(bad, "finished_at", isoformat(last + timedelta(seconds=3.5)))
    verdict, detail = _result(captured.kit.verify(bad, offline=True), "(coverage)")
    assert verdict is Verdict.PASS
    assert "does not show 3.5 s at the capture's end" in detail, detail


# --- the annotated copy -------------------------------------------------------------


def test_the_annotated_copy_is_recorded_as_derived_and_verified(captured: Captured) -> None:
    root = captured.unpacked
    stated = _manifest(root)["capture"]["video_annotated"]  # type: ignore[index]
    listing = json.loads((root / ART / "video-frames.json").read_text("utf-8"))
    entries = {e["role"]: e for e in _manifest(root)["artifacts"]}  # type: ignore[attr-defined]
    assert stated["path"] == "video-annotated.mp4" and stated["derived_from"] == "session.mkv"
    assert stated["source_sha256"] == entries["video"]["sha256"]
    assert stated["frame_count"] == len(listing["frames"])
    assert entries["video-annotated"]["media_type"] == "video/mp4"
    assert "subtitles" in stated["method"]
    verdict, detail = _result(captured.kit.verify(root, offline=True), "video-annotated.mp4")
    assert verdict is Verdict.PASS, detail
    assert "the original is the evidence" in detail


def _frame(video: Path, index: int, out: Path) -> Image.Image:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(video), "-vf",
         f"select=eq(n\\,{index})", "-fps_mode", "passthrough", "-frames:v", "1", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return Image.open(out).convert("L")


def test_the_overlay_is_drawn_at_the_top_and_the_page_is_left_alone(
    captured: Captured, tmp_path: Path
) -> None:
    root = captured.unpacked / ART
    n = len(json.loads((root / "video-frames.json").read_text("utf-8"))["frames"]) - 1
    original = _frame(root / "session.mkv", n, tmp_path / "original.png")
    annotated = _frame(root / "video-annotated.mp4", n, tmp_path / "annotated.png")
    assert original.size == annotated.size
    width, height = original.size
    difference = ImageChops.difference(original, annotated)
    band = ImageStat.Stat(difference.crop((0, 0, width // 2, height // 20))).mean[0]
    below = ImageStat.Stat(difference.crop((0, height // 4, width, height))).mean[0]
    assert band > 20, band  # text on a dark box
    assert below < 4, below  # only re-encoding noise


def test_a_copy_made_from_another_video_is_a_failure(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "other-source")
    stated = _manifest(bad)["capture"]["video_annotated"]  # type: ignore[index]
    _edit_capture(bad, "video_annotated", {**stated, "source_sha256": "0" * 64})
    verdict, detail = _result(captured.kit.verify(bad, offline=True), "video-annotated.mp4")
    assert verdict is Verdict.FAIL and "made from a video with SHA-256 000" in detail, detail


def test_a_copy_stated_with_other_frame_count_is_a_failure(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "count")
    stated = _manifest(bad)["capture"]["video_annotated"]  # type: ignore[index]
    _edit_capture(bad, "video_annotated", {**stated, "frame_count": stated["frame_count"] + 1})
    verdict, detail = _result(captured.kit.verify(bad, offline=True), "video-annotated.mp4")
    assert verdict is Verdict.FAIL and "the original has" in detail, detail


def test_a_copy_with_frames_missing_is_a_failure(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "short")
    copy = bad / ART / "video-annotated.mp4"
    short = tmp_path / "short.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(copy), "-frames:v", "2",
         "-c", "copy", str(short)],
        check=True, timeout=60,
    )  # fmt: skip
    short.replace(copy)
    verdict, detail = _result(captured.kit.verify(bad, offline=True), "video-annotated.mp4")
    assert verdict is Verdict.FAIL and detail.startswith("2 frames in the annotated copy"), detail


def test_a_copy_the_manifest_does_not_describe_is_a_failure(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "undescribed")
    _edit_capture(bad, "video_annotated", None)
    verdict, detail = _result(captured.kit.verify(bad, offline=True), "video-annotated.mp4")
    assert verdict is Verdict.FAIL and "not described in the manifest" in detail, detail


# --- without libass: a warning, not a crash -------------------------------------------


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>t</title><p style='font-size:40px'>hello</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_without_the_subtitles_filter_the_capture_warns_and_keeps_the_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("ffmpeg")
    # Fault injected: this ffmpeg is said to lack libass.
    monkeypatch.setattr(annotate, "_has_subtitles_filter", lambda ffmpeg: False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        record = capture_page(
            f"http://127.0.0.1:{server.server_address[1]}/",
            tmp_path / "work",
            CaptureOptions(
                safety=SafetyOptions(allow_private_targets=True),
                limits=LimitOptions(settle_timeout_s=1.0, total_timeout_s=60.0),
            ),
        )
    finally:
        server.shutdown()
        server.server_close()
    roles = {f.role for f in record.files}
    assert "video" in roles and "video-annotated" not in roles
    assert record.interaction.video_annotated is None
    assert not (tmp_path / "work" / "video-annotated.mp4").exists()
    assert any(
        w.startswith("no annotated copy") and "no subtitles filter" in w for w in record.warnings
    ), record.warnings


# --- the report -----------------------------------------------------------------------


def test_the_report_states_the_video_span_against_the_capture_span(captured: Captured) -> None:
    require_tool("pdftotext")
    (report,) = (captured.unpacked / "report").glob("*.pdf")
    text = subprocess.run(
        ["pdftotext", str(report), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    flat = " ".join(text.split())
    assert "录像覆盖" in flat and "取证过程" in flat and "录像未包含" in flat, flat[:2000]
    # Report text can be broken across lines anywhere in CJK: compare without spaces.
    squeezed = flat.replace(" ", "")
    assert "是由session.mkv派生、供观看的副本" in squeezed
    assert "作为证据的是原始录像session.mkv" in squeezed
    assert "录像观看副本" in squeezed
