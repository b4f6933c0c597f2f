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

__all__ = [
    "DEVICE_PRESETS",
    "capture_page",
    "check_target",
    "is_private_address",
    "load_steps",
    "shared_driver",
    "validate_url",
]
