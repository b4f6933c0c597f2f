"""Capture a web page as evidence: full-page screenshot, rendered DOM and a WARC.

One headless Chromium session both takes the screenshot and records the
traffic (over the DevTools protocol), so the WARC holds the bytes the page that
was photographed actually received.
"""

from __future__ import annotations

from capture._capture import capture_page
from capture._driver import shared_driver
from capture._guard import check_target, is_private_address
from capture._robust import DEVICE_PRESETS
from capture._steps import load_steps
from capture._urls import validate_url
from capture._video import VIDEO_NAME, VideoFrame, read_video_frames
from capture._video_annotate import count_video_frames

__all__ = [
    "DEVICE_PRESETS",
    "VIDEO_NAME",
    "VideoFrame",
    "capture_page",
    "check_target",
    "count_video_frames",
    "is_private_address",
    "load_steps",
    "read_video_frames",
    "shared_driver",
    "validate_url",
]
