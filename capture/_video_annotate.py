"""A viewing copy of the session video with the page's address and time burnt in.

Headless Chromium has no address bar, so the screencast shows the page but
not where it was nor when. The original ``session.mkv`` stays the evidence,
byte for byte; this module derives ``video-annotated.mp4`` from it: each
frame carries, at the top, the main frame's address when it was painted, its
paint time in Beijing time to the millisecond and its number in
``video-frames.json`` (all read from that sealed list). The text is an ASS
subtitle file rendered by ffmpeg's ``subtitles`` filter (libass) in a CJK
font, one subtitle event per frame.

ASS times have centisecond precision while frames can be a few milliseconds
apart, so the video's clock is slowed a hundredfold around the filter
(``setpts=100*PTS``, then back): each frame's event then starts exactly on
its frame. Frames are passed through one for one (``-fps_mode passthrough``);
the copy is checked to hold as many frames as the original before it is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from evidence.model.capture_record import AnnotatedVideo
from evidence.model.child_env import child_environment

logger = logging.getLogger(__name__)

ANNOTATED_NAME = "video-annotated.mp4"
ANNOTATED_MEDIA_TYPE = "video/mp4"
ANNOTATED_ROLE = "video-annotated"
ANNOTATION_NAME = "video-annotation.ass"
"""The subtitle file is a working file; its text is recomputable from the frame list."""

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
METHOD = (
    "ffmpeg subtitles filter (libass) over session.mkv: per frame the page address, the "
    "frame's paint time (Beijing time, ms) and its number in video-frames.json, read from "
    "video-frames.json; H.264 (libx264), one output frame per original frame"
)

_FONTS = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), "WenQuanYi Micro Hei"),
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), "WenQuanYi Zen Hei"),
)
_TIME_SCALE = 100
"""ASS centiseconds over a clock slowed this much are tenths of a millisecond."""
_URL_LINES = 3


@dataclass(frozen=True, slots=True)
class AnnotationResult:
    path: Path | None
    annotated: AnnotatedVideo | None
    note: str
    """Why there is no annotated copy (empty when there is one)."""


@dataclass(frozen=True, slots=True)
class _Listed:
    offset_ms: int
    time: datetime
    url: str


def annotate_video(video: Path, frames_json: Path, timeout_s: float) -> AnnotationResult:
    """Write ``video-annotated.mp4`` beside ``video``; never raises for a tool's failure."""
    workdir = video.parent
    out = workdir / ANNOTATED_NAME
    subtitles = workdir / ANNOTATION_NAME
    try:
        return _annotate(video, frames_json, out, subtitles, timeout_s)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        out.unlink(missing_ok=True)
        return AnnotationResult(None, None, f"could not make the annotated copy ({exc})")
    finally:
        subtitles.unlink(missing_ok=True)


def _annotate(
    video: Path, frames_json: Path, out: Path, subtitles: Path, timeout_s: float
) -> AnnotationResult:
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if ffmpeg is None or ffprobe is None:
        return AnnotationResult(None, None, "ffmpeg/ffprobe are not installed")
    if not _has_subtitles_filter(ffmpeg):
        return AnnotationResult(None, None, "ffmpeg has no subtitles filter (libass)")
    font = next(((path, name) for path, name in _FONTS if path.is_file()), None)
    if font is None:
        return AnnotationResult(None, None, "no CJK font (fonts-wqy-microhei) for the overlay")
    listing = json.loads(frames_json.read_text(encoding="utf-8"))
    frames = _listed_frames(listing)
    if not frames:
        return AnnotationResult(None, None, "the frame list is empty")
    width, height = int(listing["width"]), int(listing["height"])
    subtitles.write_text(_ass(frames, width, height, font[1]), encoding="utf-8")
    failure = _render(ffmpeg, video, subtitles, font[0].parent, out, timeout_s)
    if failure:
        out.unlink(missing_ok=True)
        return AnnotationResult(None, None, failure)
    counted = _count_frames(ffprobe, out)
    if counted != len(frames):
        out.unlink(missing_ok=True)
        return AnnotationResult(
            None, None, f"the copy has {counted} frames where the original has {len(frames)}"
        )
    annotated = AnnotatedVideo(
        name=out.name,
        source=video.name,
        source_sha256=_sha256(video),
        frame_count=counted,
        method=METHOD,
    )
    logger.info("annotated session video: %d frames", counted)
    return AnnotationResult(out, annotated, "")


def _listed_frames(listing: dict[str, Any]) -> list[_Listed]:
    return [
        _Listed(
            offset_ms=round(float(frame["offset_s"]) * 1000),
            time=datetime.fromisoformat(str(frame["time"]).replace("Z", "+00:00")),
            url=str(frame.get("url", "")),
        )
        for frame in listing["frames"]
    ]


def _ass(frames: list[_Listed], width: int, height: int, font_name: str) -> str:
    """One subtitle event per frame, from its paint offset to the next frame's."""
    size = max(14, round(width / 64))
    per_line = max(20, int((width - 16) / (size * 0.56)))
    head = (
        "[Script Info]\nScriptType: v4.00+\n"
        f"PlayResX: {width}\nPlayResY: {height}\nWrapStyle: 2\nScaledBorderAndShadow: yes\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
        "OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, "
        "Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, "
        "Encoding\n"
        # Opaque box (BorderStyle 3) in dark grey behind white text, top left.
        f"Style: Overlay,{font_name},{size},&H00FFFFFF,&H00FFFFFF,&H40202020,&H40202020,"
        "0,0,0,0,100,100,0,0,3,4,0,7,8,8,8,1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
        "Effect, Text\n"
    )
    events = []
    for n, frame in enumerate(frames):
        end_ms = frames[n + 1].offset_ms if n + 1 < len(frames) else frame.offset_ms + 1000
        beijing = frame.time.astimezone(BEIJING).isoformat(timespec="milliseconds")
        when = f"时间 Time: {beijing} (北京时间 Beijing time)  帧 Frame {n + 1}/{len(frames)}"
        text = r"\N".join([*_url_lines(frame.url, per_line), _escape(when)])
        events.append(
            f"Dialogue: 0,{_ass_time(frame.offset_ms)},{_ass_time(end_ms)},Overlay,,0,0,0,,{text}"
        )
    return head + "\n".join(events) + "\n"


def _url_lines(url: str, per_line: int) -> list[str]:
    """The address in lines that fit the width (ASS wraps only at spaces); long ones cut."""
    label = "网址 URL: "
    text = label + (url or "(none)")
    lines = [text[i : i + per_line] for i in range(0, len(text), per_line)]
    if len(lines) > _URL_LINES:
        lines = lines[:_URL_LINES]
        lines[-1] = lines[-1][:-1] + "…"
    return [_escape(line) for line in lines]


def _escape(text: str) -> str:
    # libass reads "\N", "\n", "\h", "\{" after a backslash and hides "{...}": a word
    # joiner after each backslash and escaped braces show the address as it is.
    return text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")


def _ass_time(offset_ms: int) -> str:
    centiseconds = offset_ms * _TIME_SCALE // 10
    seconds, cs = divmod(centiseconds, 100)
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}.{cs:02d}"


def _render(
    ffmpeg: str, video: Path, subtitles: Path, fonts: Path, out: Path, timeout_s: float
) -> str:
    """Run ffmpeg; the reason it failed, or "" when it wrote ``out``."""
    graph = (
        f"setpts={_TIME_SCALE}*PTS,"
        f"subtitles=filename={subtitles.name}:fontsdir={fonts},"
        f"setpts=PTS/{_TIME_SCALE},pad=ceil(iw/2)*2:ceil(ih/2)*2"
    )
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", video.name, "-map", "0:v:0", "-vf", graph, "-fps_mode", "passthrough",
        "-enc_time_base", "-1", "-video_track_timescale", "1000",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-an", "-movflags", "+faststart", out.name,
    ]  # fmt: skip
    try:
        # Relative names: a filter graph would need its own escaping for odd paths.
        done = subprocess.run(
            command, cwd=video.parent, capture_output=True, timeout=timeout_s, check=False,
            env=child_environment(),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"writing the annotated copy took longer than {timeout_s:g} s"
    if done.returncode != 0 or not out.is_file():
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return "ffmpeg failed: " + (reason[-1] if reason else f"exit {done.returncode}")
    return ""


def count_video_frames(video: Path) -> int:
    """Frames (packets) in the first video stream, as ffprobe counts them.

    Raises :class:`OSError` when ffprobe is missing, :class:`ValueError` when
    the file cannot be read as a video.
    """
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise OSError("ffprobe is not installed")
    return _count_frames(ffprobe, video)


def _count_frames(ffprobe: str, video: Path) -> int:
    probe = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(video)],
        capture_output=True, timeout=120, check=False, text=True, env=child_environment(),
    )  # fmt: skip
    value = probe.stdout.strip().split(",")[0] if probe.returncode == 0 else ""
    if not value.isdigit():
        reason = probe.stderr.strip().splitlines()
        raise ValueError(f"not a readable video ({reason[-1] if reason else 'ffprobe failed'})")
    return int(value)


def _has_subtitles_filter(ffmpeg: str) -> bool:
    listed = subprocess.run(
        [ffmpeg, "-hide_banner", "-filters"],
        capture_output=True, timeout=30, check=False, text=True, env=child_environment(),
    )  # fmt: skip
    return any(line.split()[1:2] == ["subtitles"] for line in listed.stdout.splitlines())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
