"""Photographing the page: the viewport as seen, and the whole page, tiled if tall.

Chromium builds differ in how they handle one screenshot taller than about
16,384 px (some repeat or cut the lower part), so pages above
``ScreenshotOptions.tile_height`` are photographed as clips at successive
offsets. The tiles are kept as numbered artifacts and, when the result fits
the memory limit, also stitched into one ``screenshot.png``.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from evidence.model.capture_record import ScreenshotLayout, ScreenshotTile
from evidence.model.errors import CaptureError

logger = logging.getLogger(__name__)

SCREENSHOT_NAME = "screenshot.png"
VIEWPORT_NAME = "viewport.png"
TILE_NAME = "screenshot-tile-{:03d}.png"

_PAGE_SIZE = """
() => {
  const root = document.scrollingElement || document.documentElement;
  const body = document.body;
  return {
    width: Math.max(root.scrollWidth, body ? body.scrollWidth : 0, window.innerWidth),
    height: Math.max(root.scrollHeight, body ? body.scrollHeight : 0, window.innerHeight),
  };
}
"""


@dataclass(frozen=True, slots=True)
class Screenshots:
    """The full-page picture taken after the steps and the settling (tiles for a tall page)."""

    full_page: Path
    page_height: int
    tiles: tuple[tuple[Path, ScreenshotTile], ...]
    stitched: bool
    warnings: tuple[str, ...]

    def layout(self) -> ScreenshotLayout:
        """What the capture record keeps: the page height and the tiles, no local paths."""
        return ScreenshotLayout(
            page_height=self.page_height,
            tiles=tuple(tile for _, tile in self.tiles),
            stitched=self.stitched,
        )


def page_size(page: Page) -> tuple[int, int]:
    size = page.evaluate(_PAGE_SIZE)
    return int(size["width"]), int(size["height"])


def take_viewport(page: Page, path: Path, timeout_ms: float) -> None:
    """What the window shows now: the visible part of the page in the emulated viewport."""
    page.screenshot(path=path, full_page=False, type="png", timeout=timeout_ms)


def take_screenshots(
    page: Page,
    workdir: Path,
    *,
    tile_height: int,
    max_stitch_pixels: int,
    timeout_ms: float,
) -> Screenshots:
    """Write ``screenshot.png`` (and tiles for a tall page).

    The first-screen shot (``viewport.png``) is not taken here: it is the view
    right after the page loaded, before any step, see ``capture._visit``.
    """
    full_path = workdir / SCREENSHOT_NAME
    width, height = page_size(page)
    if height <= tile_height:
        page.screenshot(path=full_path, full_page=True, type="png", timeout=timeout_ms)
        return Screenshots(full_path, height, (), True, ())

    warnings: list[str] = []
    tiles: list[tuple[Path, ScreenshotTile]] = []
    count = math.ceil(height / tile_height)
    pixel_y = 0
    for index in range(1, count + 1):
        y = (index - 1) * tile_height
        clip_height = min(tile_height, height - y)
        path = workdir / TILE_NAME.format(index)
        page.screenshot(
            path=path,
            full_page=True,
            type="png",
            clip={"x": 0, "y": y, "width": width, "height": clip_height},
            timeout=timeout_ms,
        )
        pixel_height = png_size(path)[1]
        tiles.append(
            (path, ScreenshotTile(index, path.name, y, clip_height, pixel_y, pixel_height))
        )
        pixel_y += pixel_height
    logger.info("page of %d px photographed in %d tiles", height, count)

    # A later height change (endless lists) would make tiles disagree with the page.
    try:
        _, height_after = page_size(page)
    except PlaywrightError:
        height_after = height
    if height_after != height:
        warnings.append(
            f"the page height changed from {height} to {height_after} px while it was "
            "photographed in tiles"
        )

    stitched = _stitch(tiles, full_path, max_stitch_pixels)
    if not stitched:
        # The report needs one picture; the first tile is the top of the page.
        shutil.copyfile(tiles[0][0], full_path)
        warnings.append(
            f"page of {height} px is kept as {count} screenshot tiles; screenshot.png shows "
            "only the first tile (too large to stitch)"
        )
    return Screenshots(full_path, height, tuple(tiles), stitched, tuple(warnings))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, without Pillow's decompression-bomb limit."""
    with path.open("rb") as stream:
        head = stream.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise CaptureError(f"the browser wrote an unreadable screenshot {path.name}")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _stitch(tiles: list[tuple[Path, ScreenshotTile]], out: Path, max_pixels: int) -> bool:
    sizes = [png_size(path) for path, _tile in tiles]
    total_height = sum(tile.pixel_height for _, tile in tiles)
    width = max(w for w, _h in sizes)
    # Pillow refuses to open images far above MAX_IMAGE_PIXELS; so would the report.
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if width * total_height > limit or any(w * h > limit for w, h in sizes):
        return False
    try:
        canvas = Image.new("RGB", (width, total_height), "white")
        for path, tile in tiles:
            with Image.open(path) as image:
                canvas.paste(image.convert("RGB"), (0, tile.pixel_y))
        canvas.save(out, format="PNG")
    except (MemoryError, OSError) as exc:
        raise CaptureError(f"could not stitch the screenshot tiles: {exc}") from None
    return True
