"""A page far too large for one decoded picture is still reported, exported and verified.

A real Chromium capture of a 20,000 × 20,000 px page on 127.0.0.1 gives
screenshot tiles of up to 20,000 × 16,384 px (328 million pixels; Pillow
refuses them as decompression bombs). The report shows them scaled down,
read band by band, with a note giving each original's pixel size and
SHA-256; the exhibits stay unchanged in the bundle, which verifies. The
banded reader is also checked pixel for pixel against Pillow on a small
image, and a corrupt one is a named error, not a crash.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

import reports._big_png as big_png
from evidence import Settings, Toolkit, Verdict
from evidence.model.capture_options import (
    CaptureOptions,
    InteractionOptions,
    LimitOptions,
    SafetyOptions,
)
from evidence.model.errors import ReportError
from evidence.model.hashing import digest_file
from reports._flowables import open_screenshot, screenshot_size, shown_copy
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer
from tests.test_report_pdf import pdf_text, squeezed
from tests.test_verify_checks import exporting_officer

CASE = "测试-2026-HUGE"
SIDE = 20_000
_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>huge</title><style>"
    f"html,body{{margin:0}}#big{{width:{SIDE}px;height:{SIDE}px;"
    "background:linear-gradient(135deg,#c00 0%,#0a0 50%,#00c 100%)}"
    "</style></head><body><div id='big'></div></body></html>"
)


def _sha256(path: Path) -> str:
    return digest_file(path).sha256


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


@dataclass(frozen=True)
class Huge:
    kit: Toolkit
    item_id: str
    out: Path
    report_zh: Path
    report_en: Path
    bundle: Path


@pytest.fixture(scope="module")
def huge(session_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Huge]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path_factory.mktemp("huge")
    options = CaptureOptions(
        safety=SafetyOptions(allow_private_targets=True),
        interaction=InteractionOptions(record_video=False),
        limits=LimitOptions(
            settle_timeout_s=2.0, navigation_timeout_s=120.0, total_timeout_s=300.0
        ),
    )
    try:
        with Toolkit(session_settings) as kit:
            kit.create_case(
                CASE,
                "超大网页测试",
                cause="测试",
                agency="测试市场监督管理局",
                officers=("张三（执法证号 T-1）",),
                exist_ok=True,
            )
            url = f"http://127.0.0.1:{server.server_address[1]}/"
            item = capture_as_officer(kit, CASE, url, options)
            assert kit.complete(item.id).pending == ()
            kit.trust.trust_this_machine()
            yield Huge(
                kit,
                item.id,
                out,
                kit.report(item.id, out / "report-zh.pdf"),
                kit.report(item.id, out / "report-en.pdf", language="en"),
                kit.export(item.id, out / "bundle.zip", exported_by=exporting_officer(kit)),
            )
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_the_capture_kept_tiles_too_large_to_decode(huge: Huge) -> None:
    data = huge.kit.reports.report_input(huge.item_id, "en", query_chain=False)
    assert data.capture.screenshots.page_height == SIDE
    first = data.screenshot_tiles[0]
    copy = shown_copy(first)
    assert copy is not None and copy.scaled
    assert (copy.width, copy.height) == (SIDE, 16_384)
    assert copy.sha256 == _sha256(first)
    assert screenshot_size(first) == copy.shown and copy.shown[0] <= 1600
    # Pillow alone refuses the exhibit: the report would have failed here.
    with pytest.raises(Image.DecompressionBombError), Image.open(first):
        pass


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_shows_the_scaled_copy_with_size_and_digest(huge: Huge, lang: str) -> None:
    require_tool("pdftotext")
    report = huge.report_en if lang == "en" else huge.report_zh
    text = squeezed(pdf_text(report))
    data = huge.kit.reports.report_input(huge.item_id, lang, query_chain=False)
    digest = _sha256(data.screenshot_tiles[0])
    copy = shown_copy(data.screenshot_tiles[0])
    assert copy is not None
    if lang == "en":
        expected = (
            f"Tile 1 (screenshot-tile-001.png) is 20,000 × 16,384 px, too large to lay out at "
            f"full size: it is shown scaled down to {copy.shown[0]:,} × {copy.shown[1]:,} px"
        )
    else:
        expected = "分块1（screenshot-tile-001.png）为20,000×16,384像素"
    assert squeezed(expected) in text
    assert digest in text


@pytest.mark.slow
def test_the_scaled_copy_is_drawn_not_blank(huge: Huge) -> None:
    require_tool("pdftoppm")
    prefix = huge.out / "page"
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(huge.report_en), str(prefix)], check=True
    )  # fmt: skip
    reds = 0
    for page in sorted(huge.out.glob("page-*.png")):
        with Image.open(page) as image:
            colours = image.convert("RGB").getcolors(1 << 20) or []
        reds += sum(n for n, rgb in colours if isinstance(rgb, tuple) and rgb[0] > 150 > rgb[1])
    assert reds > 500  # the gradient's red corner is on the page


@pytest.mark.slow
def test_the_bundle_keeps_the_exhibits_unchanged_and_verifies(huge: Huge) -> None:
    report = huge.kit.verify(huge.bundle)
    assert report.failures == (), report.failures
    data = huge.kit.reports.report_input(huge.item_id, "en", query_chain=False)
    with zipfile.ZipFile(huge.bundle) as zf:
        kept = zf.read("artifacts/screenshot-tile-001.png")
    assert kept == data.screenshot_tiles[0].read_bytes()
    digests = {c.subject: c.verdict for c in report.checks if c.check == "artifact.digest"}
    assert digests["artifacts/screenshot-tile-001.png"] is Verdict.PASS


@pytest.mark.slow
def test_rendering_the_report_takes_bounded_memory(huge: Huge) -> None:
    # In a process of its own, so the high-water mark is the report's alone.
    data = huge.kit.reports.report_input(huge.item_id, "en", query_chain=False)
    pickled = huge.out / "input.pickle"
    pickled.write_bytes(pickle.dumps(data))
    script = (
        "import pickle, resource, sys\n"
        "from pathlib import Path\n"
        "from reports.pdf import render_report\n"
        "data = pickle.loads(Path(sys.argv[1]).read_bytes())\n"
        "render_report(data, Path(sys.argv[2]))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(pickled), str(huge.out / "again.pdf")],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    peak_mib = int(done.stdout.split()[-1]) / 1024
    # Decoding the 328-million-pixel tile whole would take about 1 GiB by itself.
    assert peak_mib < 700, peak_mib


# --- the banded reader on its own -------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_banded_reading_gives_pillows_pixels(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small bands and no scaling, so every band seam and row filter is exercised.
    monkeypatch.setattr(big_png, "_BAND_PIXELS", 517 * 37)
    monkeypatch.setattr(big_png, "MAX_SHOWN_WIDTH", 517)
    monkeypatch.setattr(big_png, "MAX_SHOWN_PIXELS", 10**9)
    path = tmp_path / "noise.png"
    Image.effect_noise((517, 911), 60).convert(mode).save(path)
    header = big_png.read_header(path)
    got = big_png.scaled_overview(path, header)
    with Image.open(path) as image:
        want = big_png._to_rgb(image.convert(mode))
        assert got.tobytes() == want.tobytes()


def test_a_corrupt_oversized_screenshot_is_a_named_report_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(big_png, "MAX_DECODE_PIXELS", 1000)
    path = tmp_path / "shot.png"
    Image.effect_noise((400, 300), 60).convert("RGB").save(path)
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF  # inside the last IDAT chunk: its CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(ReportError, match=r"cannot read screenshot .*shot\.png"):
        open_screenshot(path)


def test_an_oversized_screenshot_in_another_format_is_a_placeholder_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chromium writes 8-bit RGB(A); a palette PNG cannot be read in bands here.
    monkeypatch.setattr(big_png, "MAX_DECODE_PIXELS", 1000)
    path = tmp_path / "palette.png"
    Image.effect_noise((400, 300), 60).convert("P").save(path)
    copy = shown_copy(path)
    assert copy is not None and not copy.scaled and copy.width == 400
    shown = open_screenshot(path)
    assert shown.size == copy.shown and shown.getcolors() == [(400 * 300, (235, 235, 235))]
