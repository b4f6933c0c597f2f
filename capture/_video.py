"""Process recording (录屏): the capture session as a video with frame times.

Chromium's screencast (CDP ``Page.startScreencast``) sends a JPEG whenever the
page repaints, each with the time it was painted. Frames go to disk as they
arrive (memory stays flat however long the session), and Debian's ``ffmpeg``
encodes them afterwards into a WebM whose frame durations follow the real
times, so a still page is not stretched or compressed.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import CDPSession

from evidence.records import isoformat

logger = logging.getLogger(__name__)

VIDEO_NAME = "session.webm"
FRAMES_NAME = "video-frames.json"
FRAME_DIR = "video-frames"
MAX_FRAMES = 3000
"""About 5 minutes at the screencast's usual pace; later frames are dropped and counted."""
_LAST_FRAME_S = 1.0


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


@dataclass(frozen=True, slots=True)
class VideoResult:
    video: Path | None
    frames: Path | None
    note: str
    """Why there is no video (empty when there is one)."""


class ScreencastRecorder:
    """Collects screencast frames of one page into ``workdir/video-frames``."""

    def __init__(self, session: CDPSession, workdir: Path, width: int, height: int) -> None:
        self._session = session
        self._dir = workdir / FRAME_DIR
        self._width = width
        self._height = height
        self._frames: list[tuple[Path, float]] = []
        self._dropped = 0
        self._active = False

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
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
        self._frames.append((path, timestamp))

    def encode(self, workdir: Path, timeout_s: float) -> VideoResult:
        """Write ``session.webm`` and ``video-frames.json``; remove the frame files."""
        try:
            return self._encode(workdir, timeout_s)
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _encode(self, workdir: Path, timeout_s: float) -> VideoResult:
        ffmpeg = ffmpeg_path()
        if ffmpeg is None:
            return VideoResult(None, None, "ffmpeg is not installed")
        if not self._frames:
            return VideoResult(None, None, "the browser sent no screencast frames")
        frames = sorted(self._frames, key=lambda f: f[1])
        start = frames[0][1]
        listing = self._dir / "frames.txt"
        lines = ["ffconcat version 1.0"]
        for n, (path, stamp) in enumerate(frames):
            following = frames[n + 1][1] if n + 1 < len(frames) else stamp + _LAST_FRAME_S
            lines.append(f"file '{path.name}'")
            lines.append(f"duration {max(following - stamp, 0.001):.3f}")
        # The concat demuxer ignores the last duration unless the file is repeated.
        lines.append(f"file '{frames[-1][0].name}'")
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        video = workdir / VIDEO_NAME
        width, height = self._width - self._width % 2, self._height - self._height % 2
        command = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "concat", "-safe", "0", "-i", str(listing),
            # Frames change size when the full-page screenshot resizes the view;
            # scale each into one fixed frame so the stream stays valid.
            "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=white,format=yuv420p",
            "-fps_mode", "vfr", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
            "-b:v", "1M", "-an", str(video),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=max(timeout_s, 5.0), check=False
            )
        except subprocess.TimeoutExpired:
            video.unlink(missing_ok=True)
            return VideoResult(None, None, f"encoding the video took longer than {timeout_s:g} s")
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
                    "clock": "browser paint time (CDP screencast metadata.timestamp)",
                    "dropped_frames": self._dropped,
                    "frames": [
                        {
                            "index": n,
                            "timestamp": stamp,
                            "time": isoformat(datetime.fromtimestamp(stamp, UTC)),
                            "offset_s": round(stamp - start, 3),
                        }
                        for n, (_path, stamp) in enumerate(frames)
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        logger.info("session video: %d frames", len(frames))
        return VideoResult(video, frames_path, "")
