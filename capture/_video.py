"""Process recording (录屏): the capture session as a video with frame times.

Chromium's screencast (CDP ``Page.startScreencast``) sends a JPEG whenever the
page repaints, each with the time it was painted. Frames go to disk as they
arrive (memory stays flat however long the session). Debian's ``ffmpeg`` then
muxes them, without re-encoding, into a Matroska file (MJPEG) whose frame
times are the paint times to the millisecond. Not re-encoding keeps every
frame byte for byte as the browser sent it (``video-frames.json`` lists each
frame's SHA-256, and ``ffmpeg -i session.mkv -c copy -f image2 f%06d.jpg``
gets the same files back) and costs a fraction of an encode's CPU, which
matters when many captures run at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from playwright.sync_api import CDPSession

from evidence.model.child_env import child_environment
from evidence.model.records import isoformat

logger = logging.getLogger(__name__)

VIDEO_NAME = "session.mkv"
VIDEO_MEDIA_TYPE = "video/x-matroska"
FRAMES_NAME = "video-frames.json"
FRAME_DIR = "video-frames"
MAX_FRAMES = 3000
"""About 5 minutes at the screencast's usual pace; later frames are dropped and counted."""


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


@dataclass(frozen=True, slots=True)
class VideoResult:
    video: Path | None
    frames: Path | None
    note: str
    """Why there is no video (empty when there is one)."""
    span: tuple[datetime, datetime] | None = None
    """Paint times of the first and last frame in the video (browser clock, UTC)."""


class ScreencastRecorder:
    """Collects screencast frames of one page into ``workdir/video-frames``."""

    def __init__(self, session: CDPSession, workdir: Path, width: int, height: int) -> None:
        self._session = session
        self._dir = workdir / FRAME_DIR
        self._width = width
        self._height = height
        self._frames: list[tuple[Path, float, str]] = []
        self._url = ""
        self._main_frame = ""
        self._dropped = 0
        self._active = False
        self._thread: threading.Thread | None = None
        self._result: VideoResult | None = None
        self._failure: BaseException | None = None

    def start(self, url: str) -> None:
        """Start recording the page, which shows ``url`` now."""
        self._dir.mkdir(parents=True, exist_ok=True)
        self._url = url
        # Navigation events arrive on this session in order with the frames, so
        # each frame is listed with the address the page had when it was painted.
        self._session.on("Page.frameNavigated", self._on_navigated)
        self._session.on("Page.navigatedWithinDocument", self._on_moved_within)
        self._session.send("Page.enable")
        tree = self._session.send("Page.getFrameTree")
        self._main_frame = str(tree.get("frameTree", {}).get("frame", {}).get("id", ""))
        self._session.on("Page.screencastFrame", self._on_frame)
        self._session.send(
            "Page.startScreencast",
            {"format": "jpeg", "quality": 70, "maxWidth": self._width, "maxHeight": self._height},
        )
        self._active = True

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        try:
            self._session.send("Page.stopScreencast")
        except Exception:
            # The page is gone; the frames so far are still the recording.
            logger.debug("could not stop the screencast", exc_info=True)

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    def _on_navigated(self, event: dict[str, Any]) -> None:
        frame = event.get("frame", {})
        if not frame.get("parentId"):
            self._url = str(frame.get("url", "")) + str(frame.get("urlFragment", ""))

    def _on_moved_within(self, event: dict[str, Any]) -> None:
        if event.get("frameId") == self._main_frame:
            self._url = str(event.get("url", ""))

    def _on_frame(self, event: dict[str, Any]) -> None:
        try:
            self._session.send("Page.screencastFrameAck", {"sessionId": event.get("sessionId")})
        except Exception:
            logger.debug("could not acknowledge a screencast frame", exc_info=True)
        if not self._active:
            return
        if len(self._frames) >= MAX_FRAMES:
            self._dropped += 1
            return
        timestamp = float(event.get("metadata", {}).get("timestamp") or 0.0)
        path = self._dir / f"{len(self._frames) + 1:06d}.jpg"
        try:
            path.write_bytes(base64.b64decode(str(event.get("data", ""))))
        except OSError:
            logger.warning("could not write screencast frame %s", path, exc_info=True)
            return
        self._frames.append((path, timestamp, self._url))

    def write_in_background(self, workdir: Path, deadline: float) -> None:
        """Start writing the video (see :meth:`encode`) while the capture goes on.

        ``deadline`` is a ``time.monotonic()`` value; :meth:`result` waits for it.
        """
        self._thread = threading.Thread(
            target=self._background, args=(workdir, deadline), name="screencast-video", daemon=True
        )
        self._thread.start()

    def _background(self, workdir: Path, deadline: float) -> None:
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._result = VideoResult(
                    None, None, "no time left within the total timeout to write it"
                )
            else:
                self._result = self.encode(workdir, remaining)
        except BaseException as exc:  # handed to result(), in the capture's thread
            self._failure = exc

    def wait(self) -> None:
        """Wait for a background write to end (a failed capture cleans up after it)."""
        if self._thread is not None:
            self._thread.join()

    def result(self, workdir: Path, deadline: float) -> VideoResult:
        """The video written in the background, or written now if it was not started."""
        if self._thread is None:
            self._background(workdir, deadline)
        else:
            self._thread.join()
        if self._failure is not None:
            raise self._failure
        assert self._result is not None
        return self._result

    def encode(self, workdir: Path, timeout_s: float) -> VideoResult:
        """Write ``session.mkv`` and ``video-frames.json``; remove the frame files."""
        try:
            return self._encode(workdir, timeout_s)
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _encode(self, workdir: Path, timeout_s: float) -> VideoResult:
        ffmpeg = ffmpeg_path()
        if ffmpeg is None:
            return VideoResult(None, None, "ffmpeg is not installed")
        ordered = sorted(self._frames, key=lambda f: f[1])
        frames = [f for f in (_frame_info(*frame) for frame in ordered) if f is not None]
        if not frames:
            return VideoResult(None, None, "the browser sent no screencast frames")
        # One video stream has one frame size. The screencast scales frames to
        # the viewport, so another size only comes from a resized view (e.g. a
        # device change by a step); such frames are listed, not muxed.
        size = (frames[0].width, frames[0].height)
        in_video = [f for f in frames if (f.width, f.height) == size]
        # Durations from millisecond offsets, so rounding does not add up.
        start = in_video[0].stamp
        offsets_ms = [round((frame.stamp - start) * 1000) for frame in in_video]
        listing = self._dir / "frames.txt"
        lines = ["ffconcat version 1.0"]
        for n, frame in enumerate(in_video):
            lines.append(f"file '{frame.path.name}'")
            # Millisecond time base; the default (25 fps) would round every
            # frame time to 40 ms.
            lines.append("option framerate 1000")
            if n + 1 < len(in_video):
                lines.append(f"duration {max(offsets_ms[n + 1] - offsets_ms[n], 1) / 1000:.3f}")
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        video = workdir / VIDEO_NAME
        command = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "concat", "-safe", "0", "-i", str(listing),
            "-c:v", "copy", "-an", "-f", "matroska", str(video),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=max(timeout_s, 5.0),
                check=False,
                env=child_environment(),
            )
        except subprocess.TimeoutExpired:
            video.unlink(missing_ok=True)
            return VideoResult(None, None, f"writing the video took longer than {timeout_s:g} s")
        if done.returncode != 0 or not video.is_file():
            video.unlink(missing_ok=True)
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return VideoResult(
                None,
                None,
                "ffmpeg failed: " + (reason[-1] if reason else f"exit {done.returncode}"),
            )
        frames_path = workdir / FRAMES_NAME
        frames_path.write_text(
            json.dumps(
                {
                    "video": VIDEO_NAME,
                    "format": "Matroska, MJPEG; each frame is the browser's JPEG, not re-encoded",
                    "clock": "browser paint time (CDP screencast metadata.timestamp)",
                    "url": "the main frame's address when the frame arrived",
                    "width": size[0],
                    "height": size[1],
                    "dropped_frames": self._dropped,
                    "frames": [
                        {
                            "index": n,
                            "timestamp": frame.stamp,
                            "time": isoformat(datetime.fromtimestamp(frame.stamp, UTC)),
                            "offset_s": offsets_ms[n] / 1000,
                            "sha256": frame.sha256,
                            "url": frame.url,
                        }
                        for n, frame in enumerate(in_video)
                    ],
                    "not_in_video": [
                        {
                            "timestamp": frame.stamp,
                            "sha256": frame.sha256,
                            "url": frame.url,
                            "size": f"{frame.width}x{frame.height}",
                            "reason": "frame size differs from the video's",
                        }
                        for frame in frames
                        if (frame.width, frame.height) != size
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        logger.info("session video: %d frames", len(in_video))
        span = (
            datetime.fromtimestamp(in_video[0].stamp, UTC),
            datetime.fromtimestamp(in_video[-1].stamp, UTC),
        )
        return VideoResult(video, frames_path, "", span)


@dataclass(frozen=True, slots=True)
class _Frame:
    path: Path
    stamp: float
    width: int
    height: int
    sha256: str
    url: str


def _frame_info(path: Path, stamp: float, url: str) -> _Frame | None:
    try:
        data = path.read_bytes()
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
    except (OSError, UnidentifiedImageError):
        logger.warning("unreadable screencast frame %s left out of the video", path.name)
        return None
    return _Frame(path, stamp, width, height, hashlib.sha256(data).hexdigest(), url)


@dataclass(frozen=True, slots=True)
class VideoFrame:
    offset_s: float
    """Presentation time from the start of the video, in seconds (1 ms resolution)."""
    sha256: str
    """SHA-256 of the frame's JPEG as stored in the video."""


def read_video_frames(
    video: Path, workdir: Path, *, max_frames: int = MAX_FRAMES
) -> list[VideoFrame]:
    """The frames of a ``session.mkv``, read back with stock ``ffmpeg`` and ``ffprobe``.

    Frames are copied out (``-c copy -f image2``), not decoded, so each
    hash is of the JPEG bytes the browser sent. Raises :class:`OSError` when
    the tools are missing and :class:`ValueError` when the file cannot be read
    as such a video.
    """
    ffmpeg, ffprobe = ffmpeg_path(), shutil.which("ffprobe")
    if ffmpeg is None or ffprobe is None:
        raise OSError("ffmpeg/ffprobe are not installed")
    out = workdir / "frames"
    out.mkdir()
    extract = subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-i", str(video), "-map", "0:v:0", "-c", "copy",
         "-frames:v", str(max_frames + 1), "-f", "image2", str(out / "f%06d.jpg")],
        capture_output=True, timeout=120, check=False, env=child_environment(),
    )  # fmt: skip
    probe = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-of", "csv=p=0", str(video)],
        capture_output=True, timeout=120, check=False, text=True, env=child_environment(),
    )  # fmt: skip
    if extract.returncode != 0 or probe.returncode != 0:
        reason = (extract.stderr or probe.stderr.encode()).decode("utf-8", "replace").strip()
        raise ValueError(
            f"not a readable video ({reason.splitlines()[-1] if reason else 'ffmpeg failed'})"
        )
    files = sorted(out.iterdir())
    times = [line.strip() for line in probe.stdout.splitlines() if line.strip()]
    if len(times) > max_frames:
        raise ValueError(f"more than {max_frames} frames")
    if len(times) != len(files):
        raise ValueError(f"{len(files)} frame(s) copied out but {len(times)} frame time(s) listed")
    try:
        offsets = [round(float(t), 3) for t in times]
    except ValueError:
        raise ValueError("ffprobe listed a frame without a time") from None
    return [
        VideoFrame(offset, hashlib.sha256(path.read_bytes()).hexdigest())
        for offset, path in zip(offsets, files, strict=True)
    ]
