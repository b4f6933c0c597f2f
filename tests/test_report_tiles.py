"""Reports of a page too tall to stitch: the screenshot tiles are laid out in order.

A real Chromium capture of a 6,000 px page served on 127.0.0.1, with a tile
height of 2,000 px and a stitching limit of one pixel, so the capture keeps
three tiles and no stitched image; then the real TSA, anvil, report, bundle
and verifier.
"""

from __future__ import annotations

import re
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from evidence import Settings, Toolkit, Verdict
from evidence.model.capture_options import (
    CaptureOptions,
    InteractionOptions,
    LimitOptions,
    SafetyOptions,
    ScreenshotOptions,
)
from evidence.model.errors import ReportError
from evidence.model.records import ReportInput
from reports.bundle import layout as bf
from reports.pdf import render_report
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer
from tests.test_report_pdf import page_count, pdf_text, squeezed
from tests.test_verify_checks import exporting_officer

pytestmark = pytest.mark.slow

CASE = "测试-2026-TILES"
PAGE_HEIGHT = 6_000
TILE_HEIGHT = 2_000
BAND = 500
COLOURS = ("#d32f2f", "#1976d2", "#388e3c", "#fbc02d", "#7b1fa2", "#00897b")

_BANDS = "".join(
    f"<div style='background:{COLOURS[i % len(COLOURS)]}'>BAND {i} · y {i * BAND}</div>"
    for i in range(PAGE_HEIGHT // BAND)
)
_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>tall page</title>"
    f"<style>html,body{{margin:0;padding:0}}div{{height:{BAND}px;font:bold 64px sans-serif;"
    "color:#fff;padding-left:40px;box-sizing:border-box}</style></head>"
    f"<body>{_BANDS}</body></html>"
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
        pass  # keep pytest output clean


@pytest.fixture(scope="module")
def tall_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tall.html"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Tiled:
    kit: Toolkit
    item_id: str
    out: Path
    report_zh: Path
    report_en: Path
    bundle: Path


@pytest.fixture(scope="module")
def tiled(
    session_settings: Settings, tall_page: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tiled]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    out = tmp_path_factory.mktemp("tiles")
    options = CaptureOptions(
        safety=SafetyOptions(allow_private_targets=True),
        screenshots=ScreenshotOptions(tile_height=TILE_HEIGHT, max_stitch_pixels=1),
        interaction=InteractionOptions(record_video=False),
        limits=LimitOptions(settle_timeout_s=2.0, navigation_timeout_s=10.0, total_timeout_s=60.0),
    )
    with Toolkit(session_settings) as kit:
        kit.create_case(
            CASE,
            "超长网页测试",
            cause="测试",
            agency="测试市场监督管理局",
            officers=("张三（执法证号 T-1）",),
            exist_ok=True,
        )
        item = capture_as_officer(kit, CASE, tall_page, options)
        assert kit.complete(item.id).pending == ()
        kit.trust.trust_this_machine()  # this machine checks its own work
        yield Tiled(
            kit,
            item.id,
            out,
            kit.report(item.id, out / "report-zh.pdf"),
            kit.report(item.id, out / "report-en.pdf", language="en"),
            kit.export(item.id, out / "bundle.zip", exported_by=exporting_officer(kit)),
        )


def test_capture_kept_three_tiles_and_did_not_stitch(tiled: Tiled) -> None:
    data = tiled.kit.reports.report_input(tiled.item_id, "en", query_chain=False)
    assert not data.capture.screenshots.stitched
    assert data.capture.screenshots.page_height == PAGE_HEIGHT
    assert [t.name for t in data.capture.screenshots.tiles] == [
        "screenshot-tile-001.png",
        "screenshot-tile-002.png",
        "screenshot-tile-003.png",
    ]
    # The report input names the tiles in page order, each the stored file.
    assert len(data.screenshot_tiles) == 3
    for path, tile in zip(data.screenshot_tiles, data.capture.screenshots.tiles, strict=True):
        with Image.open(path) as image:
            assert image.height == tile.pixel_height


def test_first_page_says_the_page_was_captured_as_tiles(tiled: Tiled) -> None:
    require_tool("pdftotext")
    first_en = squeezed(_page_text(tiled.report_en, 1))
    assert (
        squeezed(
            "The page is 6,000 px tall, too tall to stitch into one screenshot: it was captured "
            "as 3 tiles (screenshot-tile-001.png to screenshot-tile-003.png)"
        )
        in first_en
    )
    first_zh = squeezed(_page_text(tiled.report_zh, 1))
    assert "本网页高6,000像素" in first_zh and "以3张分块截图" in first_zh


_PART = {
    "en": re.compile(
        r"Tile(\d+)/(\d+)\((screenshot-tile-\d+\.png)\),part(\d+)/(\d+):"
        r"tilepixelrows(\d+)–(\d+),pagepixelrows(\d+)–(\d+)"
    ),
    "zh": re.compile(
        r"分块(\d+)/(\d+)（(screenshot-tile-\d+\.png)）第(\d+)/(\d+)部分："
        r"分块第(\d+)–(\d+)像素行，整页第(\d+)–(\d+)像素行"
    ),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_tile_is_laid_out_in_order_with_its_rows(tiled: Tiled, lang: str) -> None:
    require_tool("pdftotext")
    report = tiled.report_en if lang == "en" else tiled.report_zh
    matches = list(_PART[lang].finditer(squeezed(pdf_text(report))))
    parts = [
        (m.group(3), tuple(int(m.group(i)) for i in (1, 2, 4, 5, 6, 7, 8, 9))) for m in matches
    ]
    data = tiled.kit.reports.report_input(tiled.item_id, lang, query_chain=False)
    tiles = data.capture.screenshots.tiles
    # Walk the captions: every tile, every part, every pixel row once, in page order.
    expected_tile, expected_part, next_row, page_row = 1, 1, 0, 0
    for name, numbers in parts:
        tile, count, part, parts_of_tile, y0, y1, p0, p1 = numbers
        assert (tile, count, part) == (expected_tile, 3, expected_part), parts
        assert name == f"screenshot-tile-{tile:03d}.png"
        assert y0 == next_row and y1 >= y0
        assert (p0, p1) == (page_row + y0, page_row + y1)
        next_row = y1 + 1
        if part == parts_of_tile:
            assert next_row == tiles[tile - 1].pixel_height
            page_row += next_row
            expected_tile, expected_part, next_row = tile + 1, 1, 0
        else:
            expected_part += 1
    assert expected_tile == 4 and page_row == PAGE_HEIGHT
    # A 2,000 px tile does not fit one A4 page: every tile is split.
    assert len(parts) > 3


def test_tiles_are_drawn_and_readable(tiled: Tiled) -> None:
    require_tool("pdftoppm")
    pages = page_count(tiled.report_en)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(tiled.report_en), str(tiled.out / "en")],
        check=True,
    )
    shots = sorted(tiled.out.glob("en-*.png"))
    assert len(shots) == pages
    # The bands' colours appear in the rendered pages: the tiles are drawn, not blank.
    seen: set[tuple[int, ...]] = set()
    for shot in shots:
        with Image.open(shot) as image:
            colours = image.convert("RGB").getcolors(1 << 20) or []
            seen.update(rgb for _count, rgb in colours if isinstance(rgb, tuple))
    for colour in COLOURS:
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        assert any(sum(abs(a - b) for a, b in zip(rgb, s, strict=True)) < 12 for s in seen), colour


def test_the_tiled_bundle_verifies_apart_from_replay(tiled: Tiled) -> None:
    report = tiled.kit.verify(tiled.bundle)
    other = [c for c in report.checks if c.check != "screenshot.replay"]
    assert [c for c in other if c.verdict is Verdict.FAIL] == []
    names = {c.subject for c in report.checks if c.check == "artifact.digest"}
    for number in (1, 2, 3):
        assert f"artifacts/screenshot-tile-{number:03d}.png" in names
    with zipfile.ZipFile(tiled.bundle) as zf:
        assert bf.REPORT in zf.namelist()
    # Only what cannot be checked without a single screenshot or a signature may be open.
    for check in report.not_checked:
        assert check.check == "screenshot.replay" or "signature" in check.check, check


def test_replay_of_a_tiled_capture_is_not_a_false_failure(tiled: Tiled) -> None:
    report = tiled.kit.verify(tiled.bundle)
    (replay,) = [c for c in report.checks if c.check == "screenshot.replay"]
    assert replay.verdict is Verdict.NOT_CHECKED
    assert "3 screenshot tiles" in replay.detail
    assert report.failures == ()


def test_missing_tile_is_a_report_error_naming_it(tiled: Tiled, tmp_path: Path) -> None:
    data = tiled.kit.reports.report_input(tiled.item_id, "zh", query_chain=False)
    gone = tmp_path / "screenshot-tile-002.png"
    first, _, third = data.screenshot_tiles
    broken = replace(data, screenshot_tiles=(first, gone, third))
    with pytest.raises(ReportError, match=r"screenshot tile 2/3 \(screenshot-tile-002\.png\)"):
        render_report(broken, tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def test_tiles_without_any_screenshot_file(tiled: Tiled, tmp_path: Path) -> None:
    require_tool("pdftotext")
    data = tiled.kit.reports.report_input(tiled.item_id, "en", query_chain=False)
    tile_only = replace(data, screenshot_path=None)
    pdf = render_report(tile_only, tmp_path / "report.pdf")
    assert "Tile3/3(screenshot-tile-003.png)" in squeezed(pdf_text(pdf))
    nothing = replace(data, screenshot_path=None, screenshot_tiles=())
    with pytest.raises(ReportError, match="neither a screenshot nor screenshot tiles"):
        render_report(nothing, tmp_path / "none.pdf")


def test_input_without_tiles_lays_out_the_screenshot(tiled: Tiled, tmp_path: Path) -> None:
    """A report input with a screenshot and no tiles is laid out as before."""
    require_tool("pdftotext")
    data = tiled.kit.reports.report_input(tiled.item_id, "en", query_chain=False)
    assert data.screenshot_path is not None
    plain: ReportInput = replace(data, screenshot_tiles=())
    flat = squeezed(pdf_text(render_report(plain, tmp_path / "plain.pdf")))
    assert "Screenshotpart1/" in flat and "Tile1/3" not in flat


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_each_tile_is_decoded_once_in_page_order(
    tiled: Tiled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays at one tile: the renderer decodes tile after tile, never two at once."""
    import reports._flowables as flowables

    decoded: list[Path] = []
    real_open = flowables.open_screenshot

    def counting_open(path: Path) -> Image.Image:
        decoded.append(path)
        return real_open(path)

    monkeypatch.setattr(flowables, "open_screenshot", counting_open)
    data = tiled.kit.reports.report_input(tiled.item_id, "zh", query_chain=False)
    render_report(replace(data, viewport_screenshot_path=None), tmp_path / "report.pdf")
    assert decoded == list(data.screenshot_tiles)
