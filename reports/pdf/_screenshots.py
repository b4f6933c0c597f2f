"""The full-page screenshot (one image, or tiles of a page too tall to stitch) and the
first-screen (viewport) shot, scaled to the frame width and cut into captioned parts."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image
from reportlab.platypus import Flowable, PageBreak, Paragraph, Table

from evidence.model.errors import ReportError
from evidence.model.i18n import N_
from evidence.model.records import ReportInput
from reports._flowables import (
    ScreenshotTile,
    TileSlice,
    TileSource,
    screenshot_size,
    slice_rows,
)
from reports._i18n import translate
from reports.pdf.layout import Layout, flowable_height
from reports.pdf.styles import FRAME_HEIGHT, FRAME_WIDTH

MIN_TILE_SPACE = 72.0
"""Points of free page height below which the next screenshot tile starts a new page."""

# key -> English source of the strings of a page kept as tiles (as in reports._i18n).
_TILE_TEXT: dict[str, str] = {
    "tiles_front": N_(
        "The page is {h} px tall, too tall to stitch into one screenshot: it was captured "
        "as {n} tiles ({first} to {last}), all laid out in order in section {sec}."
    ),
    "tiles_note": N_(
        "The page was too tall to stitch, so the full-page screenshot was kept as {n} tiles "
        "({w} px wide, {h} px tall in all). The tiles follow from top to bottom, each "
        "scaled to the page width and split into parts; the original PNG files and their "
        "hashes are in the exhibit list."
    ),
    # TRANSLATORS: {name} is empty or the tile's file name as rendered by " ({name})".
    "tile_part": N_(
        "Tile {k}/{m}{name}, part {i}/{n}: tile pixel rows {y0}–{y1}, page pixel rows {p0}–{p1}"
    ),
    "tile_name": N_(" ({name})"),
}


def screenshot_section(layout: Layout, image: Image.Image) -> list[Flowable]:
    """The stitched screenshot, cut into page-high parts, each captioned with its rows."""
    heading = layout.heading("sec_screenshot")
    scale = FRAME_WIDTH / image.width  # points per source pixel
    caption_h = ScreenshotTile.caption_space()
    full_px = int((FRAME_HEIGHT - caption_h - 2) / scale)
    # The note states the part count, and its height decides how much of
    # the first page is left for the first part: iterate to a fixed point
    # (in practice one or two rounds, as n's digits barely move the note).
    count = len(slice_rows(image.height, full_px, full_px))
    for _ in range(4):
        note = layout.p(
            layout.t("screenshot_note", w=image.width, h=image.height, n=count), layout.s.body
        )
        above = flowable_height(heading) + flowable_height(note)
        first_px = max(1, int((FRAME_HEIGHT - above - caption_h - 4) / scale))
        ranges = slice_rows(image.height, first_px, full_px)
        if len(ranges) == count:
            break
        count = len(ranges)
    flowables: list[Flowable] = [PageBreak(), heading, note]
    for index, (top, bottom) in enumerate(ranges, 1):
        part = image.crop((0, top, image.width, bottom))
        caption = layout.t("screenshot_part", i=index, n=len(ranges), y0=top, y1=bottom - 1)
        flowables.append(
            ScreenshotTile(part, FRAME_WIDTH, caption, layout.fonts.regular, font_size=8.0)
        )
    return flowables


def viewport_section(layout: Layout, image: Image.Image) -> list[Flowable]:
    """The first-screen shot on a page of its own (not a numbered section)."""
    scale = FRAME_WIDTH / image.width
    note = layout.p(layout.t("viewport_note", w=image.width, h=image.height), layout.s.body)
    # A viewport shot is one screen: scale it to fit one page whatever its shape.
    max_h = FRAME_HEIGHT - 80
    width = FRAME_WIDTH if image.height * scale <= max_h else max_h * image.width / image.height
    shot = ScreenshotTile(image, width, layout.t("viewport_heading"), layout.fonts.regular)
    return [
        PageBreak(),
        Paragraph(escape(layout.t("viewport_heading")), layout.s.heading),
        note,
        shot,
    ]


class TiledScreenshot:
    """The screenshot of a page kept as tiles, laid out tile after tile.

    :meth:`section` reads only the tiles' headers; the pixels are decoded by
    ``source`` while the PDF is drawn, one tile at a time.
    """

    def __init__(self, layout: Layout, data: ReportInput) -> None:
        self.layout = layout
        self.data = data
        self.paths = data.screenshot_tiles
        names = [tile.name for tile in data.capture.screenshots.tiles]
        # The capture record's names are used only when it lists every tile.
        self.names = names if len(names) == len(self.paths) else None
        self.pixel_height = 0
        """Sum of the tiles' pixel heights, once :meth:`section` has run."""

    def text(self, key: str, **values: object) -> str:
        return translate(self.layout.lang, _TILE_TEXT[key], **values)

    def section(self, source: TileSource) -> list[Flowable]:
        """The numbered screenshot section: a note, then every tile's parts in page order."""
        sizes = self._sizes()
        self.pixel_height = sum(h for _w, h in sizes)
        layout = self.layout
        heading = layout.heading("sec_screenshot")
        note = layout.p(
            self.text(
                "tiles_note",
                n=len(self.paths),
                w=max(w for w, _h in sizes),
                h=f"{self.pixel_height:,}",
            ),
            layout.s.body,
        )
        flowables: list[Flowable] = [PageBreak(), heading, note]
        # Points still free on the current page: each tile continues where the
        # previous one ended rather than leaving the rest of its last page empty.
        free = FRAME_HEIGHT - flowable_height(heading) - flowable_height(note)
        page_y = 0
        for number, (path, size) in enumerate(zip(self.paths, sizes, strict=True), 1):
            free = self._tile(flowables, source, number, path, size, free, page_y)
            page_y += size[1]
        return flowables

    def front_note(self) -> Table:
        """The first page's warning that the screenshot is in pieces, and where they are."""
        count = len(self.paths)
        names = self.names or ["#1", f"#{count}"]
        message = self.text(
            "tiles_front",
            h=f"{self.data.capture.screenshots.page_height or self.pixel_height:,}",
            n=count,
            first=names[0],
            last=names[-1],
            sec=self.layout.section_label("sec_screenshot"),
        )
        return self.layout.pending_note(self.layout.safe(message))

    def _sizes(self) -> list[tuple[int, int]]:
        sizes: list[tuple[int, int]] = []
        for number, path in enumerate(self.paths, 1):
            try:
                sizes.append(screenshot_size(path))
            except ReportError as exc:
                # The store path is a digest; the reader needs to know which tile.
                name = f" ({self.names[number - 1]})" if self.names else ""
                raise ReportError(
                    f"screenshot tile {number}/{len(self.paths)}{name}: {exc.message}"
                ) from exc
        return sizes

    def _tile(
        self,
        flowables: list[Flowable],
        source: TileSource,
        number: int,
        path: Path,
        size: tuple[int, int],
        free: float,
        page_y: int,
    ) -> float:
        """Append one tile's parts to ``flowables``; return the points left on the page."""
        width, height = size
        scale = FRAME_WIDTH / width  # points per source pixel
        caption_h = ScreenshotTile.caption_space()
        full_px = max(1, int((FRAME_HEIGHT - caption_h - 2) / scale))
        fits_here = free - caption_h - 4 >= MIN_TILE_SPACE
        first_px = min(full_px, int((free - caption_h - 4) / scale)) if fits_here else full_px
        ranges = slice_rows(height, max(1, first_px), full_px)
        for part, rows in enumerate(ranges, 1):
            caption = self._caption(number, part, len(ranges), rows, page_y)
            flowables.append(
                TileSlice(
                    source,
                    path,
                    rows,
                    width,
                    FRAME_WIDTH,
                    self.layout.safe(caption),
                    self.layout.fonts.regular,
                )
            )
        last_top, last_bottom = ranges[-1]
        used = caption_h + (last_bottom - last_top) * scale
        return float(free - used if fits_here and len(ranges) == 1 else FRAME_HEIGHT - used)

    def _caption(
        self, number: int, part: int, parts: int, rows: tuple[int, int], page_y: int
    ) -> str:
        top, bottom = rows
        return self.text(
            "tile_part",
            k=number,
            m=len(self.paths),
            name=self.text("tile_name", name=self.names[number - 1]) if self.names else "",
            i=part,
            n=parts,
            y0=top,
            y1=bottom - 1,
            p0=page_y + top,
            p1=page_y + bottom - 1,
        )
