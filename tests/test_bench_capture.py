"""The capture benchmark's contenders still run and make what they claim to measure.

No timing here (figures belong to ``python -m bench.capture``); this only keeps
the bench from rotting when the capture internals it borrows change.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.capture import _PIECES, _bare_plus, bare_capture
from evidence.model.capture_options import CaptureOptions, EnvironmentOptions, SafetyOptions
from evidence.services.demo_site import DemoSite
from tests.conftest import require_tool

OPTIONS = CaptureOptions(
    safety=SafetyOptions(allow_private_targets=True),
    environment=EnvironmentOptions(ntp_servers=()),
)


def test_bare_capture_photographs_the_page(tmp_path: Path) -> None:
    with DemoSite() as site:
        bare_capture(site.url_for("/index.html"), tmp_path, OPTIONS)
    assert (tmp_path / "bare.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_every_piece_of_the_breakdown_does_its_work(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    with DemoSite() as site:
        _bare_plus(site.url_for("/index.html"), tmp_path, OPTIONS, frozenset(_PIECES))
    assert (tmp_path / "viewport.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "page.pdf").read_bytes().startswith(b"%PDF-")
    assert "multipart/related" in (tmp_path / "page.mhtml").read_text(encoding="utf-8")[:2000]
    assert (tmp_path / "session.mkv").stat().st_size > 0
    frames = json.loads((tmp_path / "video-frames.json").read_text(encoding="utf-8"))
    assert frames["frames"]
