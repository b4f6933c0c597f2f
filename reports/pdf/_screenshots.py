"""The full-page screenshot (one image, or tiles of a page too tall to stitch) and the
first-screen (viewport) shot, scaled to the frame width and cut into captioned parts.

A screenshot too large to decode whole is laid out as a scaled copy (see
``reports._big_png``) with a note giving the original's pixel size and
digest; captions keep counting the original's pixel rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image
from reportlab.platypus import Flowable, PageBreak, Paragraph, Table

from evidence.model.capture_options import StepAction
from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import ReportError
from evidence.model.i18n import N_
from evidence.model.records import ReportInput
from reports._flowables import (
    ScreenshotTile,
    ShownCopy,
    TileSlice,
    TileSource,
    screenshot_size,
    shown_copy,
    slice_rows,
)
from reports._i18n import translate
from reports.pdf.layout import Layout, flowable_height
from reports.pdf.styles import BEIJING, FRAME_HEIGHT, FRAME_WIDTH

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
    # TRANSLATORS: {what} is one of the three names below.
    "oversize_scaled": N_(
        "{what} is {w} × {h} px, too large to lay out at full size: it is shown scaled down "
        "to {sw} × {sh} px, and the pixel rows in the captions are the original's. The "
        "exhibit itself is in the bundle unchanged (SHA-256 {sha256})."
    ),
    "oversize_blank": N_(
        "{what} is {w} × {h} px, too large to lay out at full size, and its format cannot be "
        "read in parts: it is not shown here. The exhibit itself is in the bundle unchanged "
        "(SHA-256 {sha256})."
    ),
    "what_screenshot": N_("The full-page screenshot"),
    "what_viewport": N_("The first-screen shot"),
    "what_tile": N_("Tile {k}{name}"),
    # Exhibit list: which step a step screenshot belongs to.
    "step_shot_after": N_("taken after step {n} ({action})"),
    "step_shot_named": N_("taken by step {n} (screenshot)"),
}

# Step actions as the exhibit list names them (the steps file's own words are in
# the capture record).
_ACTIONS: dict[StepAction, str] = {
    StepAction.GOTO: N_("open a URL"),
    StepAction.CLICK: N_("click"),
    StepAction.TYPE: N_("type text"),
    StepAction.PRESS: N_("press a key"),
    StepAction.SCROLL: N_("scroll"),
    StepAction.WAIT: N_("wait"),
    StepAction.SCREENSHOT: N_("screenshot"),
}


def step_shot_label(language: str, capture: CaptureRecord, file_name: str) -> str:
    """Which navigation step a step screenshot belongs to ("" for any other file).

    A step screenshot is linked to its step by the step's ``artifact`` in the
    capture record (and the manifest): the exhibit list says which step, so
    the picture is never read as the page as it first loaded.
    """
    name = file_name.rsplit("/", 1)[-1]
    step = next((s for s in capture.interaction.steps if s.artifact and s.artifact == name), None)
    if step is None:
        return ""
    if step.action is StepAction.SCREENSHOT:
        return translate(language, _TILE_TEXT["step_shot_named"], n=step.index)
    action = translate(language, _ACTIONS[StepAction(step.action)])
    return translate(language, _TILE_TEXT["step_shot_after"], n=step.index, action=action)


def _oversize_note(layout: Layout, copy: ShownCopy, what: str) -> Paragraph:
    key = "oversize_scaled" if copy.scaled else "oversize_blank"
    message = translate(
        layout.lang,
        _TILE_TEXT[key],
        what=what,
        w=f"{copy.width:,}",
        h=f"{copy.height:,}",
        sw=f"{copy.shown[0]:,}",
        sh=f"{copy.shown[1]:,}",
        sha256=copy.sha256,
    )
    return layout.p(message, layout.s.body)


def screenshot_section(
    layout: Layout, image: Image.Image, path: Path | None = None
) -> list[Flowable]:
    """The stitched screenshot, cut into page-high parts, each captioned with its rows.

    ``path`` is the exhibit file; when it was too large to lay out, ``image``
    is its scaled copy and a note says so.
    """
    heading = layout.heading("sec_screenshot")
    copy = shown_copy(path) if path is not None else None
    # Captions count the original's rows, whatever size is laid out.
    rows_per_px = copy.height / image.height if copy is not None else 1.0
    original = (copy.width, copy.height) if copy is not None else image.size
    scale = FRAME_WIDTH / image.width  # points per laid-out pixel
    caption_h = ScreenshotTile.caption_space()
    full_px = int((FRAME_HEIGHT - caption_h - 2) / scale)
    extra = [_oversize_note(layout, copy, _text(layout, "what_screenshot"))] if copy else []
    # The note states the part count, and its height decides how much of
    # the first page is left for the first part: iterate to a fixed point
    # (in practice one or two rounds, as n's digits barely move the note).
    count = len(slice_rows(image.height, full_px, full_px))
    for _ in range(4):
        note = layout.p(
            layout.t("screenshot_note", w=original[0], h=original[1], n=count), layout.s.body
        )
        above = sum(flowable_height(f) for f in (heading, note, *extra))
        first_px = max(1, int((FRAME_HEIGHT - above - caption_h - 4) / scale))
        ranges = slice_rows(image.height, first_px, full_px)
        if len(ranges) == count:
            break
        count = len(ranges)
    flowables: list[Flowable] = [PageBreak(), heading, note, *extra]
    for index, (top, bottom) in enumerate(ranges, 1):
        part = image.crop((0, top, image.width, bottom))
        y0, y1 = round(top * rows_per_px), round(bottom * rows_per_px) - 1
        caption = layout.t("screenshot_part", i=index, n=len(ranges), y0=y0, y1=y1)
        flowables.append(
            ScreenshotTile(part, FRAME_WIDTH, caption, layout.fonts.regular, font_size=8.0)
        )
    return flowables


def viewport_section(
    layout: Layout, image: Image.Image, path: Path | None = None
) -> list[Flowable]:
    """The first-screen shot on a page of its own (not a numbered section)."""
    copy = shown_copy(path) if path is not None else None
    size = (copy.width, copy.height) if copy is not None else image.size
    scale = FRAME_WIDTH / image.width
    note = layout.p(layout.t("viewport_note", w=size[0], h=size[1]), layout.s.body)
    extra = [_oversize_note(layout, copy, _text(layout, "what_viewport"))] if copy else []
    # A viewport shot is one screen: scale it to fit one page whatever its shape.
    max_h = FRAME_HEIGHT - 80 - sum(flowable_height(f) for f in extra)
    width = FRAME_WIDTH if image.height * scale <= max_h else max_h * image.width / image.height
    shot = ScreenshotTile(image, width, layout.t("viewport_heading"), layout.fonts.regular)
    return [
        PageBreak(),
        Paragraph(escape(layout.t("viewport_heading")), layout.s.heading),
        note,
        *extra,
        shot,
    ]


def _text(layout: Layout, key: str, **values: object) -> str:
    return translate(layout.lang, _TILE_TEXT[key], **values)


# The session video's row in the capture section: what part of the capture it shows.
_VIDEO_TEXT: dict[str, str] = {
    "video": N_("Session video"),
    # TRANSLATORS: times are Beijing time, HH:MM:SS.mmm.
    "video_span": N_("The video covers {first}–{last} (the capture: {start}–{end}, Beijing time)."),
    "video_gaps": N_(
        "Not in the video: {before} s at the capture's start (browser launch, first paint) "
        "and {after} s at its end (traffic read, WARC written)."
    ),
    "video_annotated": N_(
        "{copy} is a copy derived from {video} for viewing, with the page address and each "
        "frame's time (Beijing time) burnt in; the original {video} is the evidence."
    ),
}


def video_row(layout: Layout, capture: CaptureRecord) -> tuple[str, Paragraph] | None:
    """The video's covered span against the capture's span, and what its viewing copy is."""
    span = capture.interaction.video_span
    if span is None:
        return None  # no video: the capture's warnings say why

    def clock(moment: datetime) -> str:
        local = moment.astimezone(BEIJING)
        return local.strftime("%H:%M:%S") + f".{local.microsecond // 1000:03d}"

    def video_text(key: str, **values: object) -> str:
        return translate(layout.lang, _VIDEO_TEXT[key], **values)

    page = capture.page
    before = max(0.0, (span[0] - page.started_at).total_seconds())
    after = max(0.0, (page.finished_at - span[1]).total_seconds())
    lines = [
        video_text(
            "video_span", first=clock(span[0]), last=clock(span[1]),
            start=clock(page.started_at), end=clock(page.finished_at),
        ),
        video_text("video_gaps", before=f"{before:.1f}", after=f"{after:.1f}"),
    ]  # fmt: skip
    copy = capture.interaction.video_annotated
    if copy is not None:
        lines.append(video_text("video_annotated", copy=copy.name, video=copy.source))
    return video_text("video"), layout.lines(lines, layout.s.value)


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
        copies = [self._copy(number, path) for number, path in enumerate(self.paths, 1)]
        originals = [
            (c.width, c.height) if c is not None else size
            for c, size in zip(copies, sizes, strict=True)
        ]
        self.pixel_height = sum(h for _w, h in originals)
        layout = self.layout
        heading = layout.heading("sec_screenshot")
        note = layout.p(
            self.text(
                "tiles_note",
                n=len(self.paths),
                w=max(w for w, _h in originals),
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
            copy = copies[number - 1]
            if copy is not None:
                note = self._oversize(number, copy)
                flowables.append(note)
                free -= flowable_height(note)
            tile = _TileRows(number, path, size, page_y, copy.height / size[1] if copy else 1.0)
            free = self._tile(flowables, source, tile, free)
            page_y += originals[number - 1][1]
        return flowables

    def _oversize(self, number: int, copy: ShownCopy) -> Paragraph:
        name = self.text("tile_name", name=self.names[number - 1]) if self.names else ""
        return _oversize_note(self.layout, copy, self.text("what_tile", k=number, name=name))

    def _copy(self, number: int, path: Path) -> ShownCopy | None:
        try:
            return shown_copy(path)
        except ReportError as exc:
            name = f" ({self.names[number - 1]})" if self.names else ""
            raise ReportError(
                f"screenshot tile {number}/{len(self.paths)}{name}: {exc.message}"
            ) from exc

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
        self, flowables: list[Flowable], source: TileSource, tile: _TileRows, free: float
    ) -> float:
        """Append one tile's parts to ``flowables``; return the points left on the page."""
        path = tile.path
        width, height = tile.size
        scale = FRAME_WIDTH / width  # points per source pixel
        caption_h = ScreenshotTile.caption_space()
        full_px = max(1, int((FRAME_HEIGHT - caption_h - 2) / scale))
        fits_here = free - caption_h - 4 >= MIN_TILE_SPACE
        first_px = min(full_px, int((free - caption_h - 4) / scale)) if fits_here else full_px
        ranges = slice_rows(height, max(1, first_px), full_px)
        for part, rows in enumerate(ranges, 1):
            caption = self._caption(tile, part, len(ranges), rows)
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

    def _caption(self, tile: _TileRows, part: int, parts: int, rows: tuple[int, int]) -> str:
        # Rows of the original tile (of its scaled copy's rows when it is oversized).
        top, bottom = round(rows[0] * tile.rows_per_px), round(rows[1] * tile.rows_per_px)
        number = tile.number
        return self.text(
            "tile_part",
            k=number,
            m=len(self.paths),
            name=self.text("tile_name", name=self.names[number - 1]) if self.names else "",
            i=part,
            n=parts,
            y0=top,
            y1=bottom - 1,
            p0=tile.page_y + top,
            p1=tile.page_y + bottom - 1,
        )


@dataclass(frozen=True, slots=True)
class _TileRows:
    """One tile as laid out: its laid-out size and where its original rows are on the page."""

    number: int
    path: Path
    size: tuple[int, int]
    """Laid-out size: the tile's own, or its scaled copy's."""
    page_y: int
    """The tile's first original row, counted from the top of the page."""
    rows_per_px: float
    """Original rows per laid-out row (1 unless oversized)."""
