"""The PDF evidence report (网页电子证据固定报告).

:func:`render_report` lays out a :class:`~evidence.model.records.ReportInput` on A4
pages with reportlab platypus. The same input always gives the same bytes:
the document is built in reportlab's invariant mode with its dates taken from
``generated_at``, so a report can be regenerated from a bundle and compared.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import LayoutError

from evidence.model.errors import ReportError
from evidence.model.records import (
    AnchorReceipt,
    EnvironmentCheck,
    ExhibitRow,
    ReportInput,
    TimestampToken,
    isoformat,
)
from reports._flowables import (
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    NumberedCanvas,
    PageFurniture,
    QRFlowable,
    ScreenshotTile,
    TileSlice,
    TileSource,
    open_screenshot,
    qr_matrix,
    qr_payload,
    screenshot_size,
    slice_rows,
)
from reports._fonts import ReportFonts, load_fonts
from reports._i18n import check_language, text
from reports.pdfa import make_pdfa

logger = logging.getLogger(__name__)

__all__ = ["render_report"]

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
PAGE_WIDTH, PAGE_HEIGHT = A4
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
FRAME_HEIGHT = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
LABEL_WIDTH = 96.0
QR_SIZE = 124.0
# A table row cannot break across pages, so captured strings (a data: URL can
# be megabytes) are cut to lengths that always fit; the bundle has them whole.
MAX_URL_CHARS = 1200
MAX_TEXT_CHARS = 500
MAX_LIST_ITEMS = 30

# rl_config is process-global and reportlab reads it while saving; builds are
# serialised so the temporary setting below cannot leak into another build.
_build_lock = threading.Lock()

_ZH_NUMERALS: tuple[str, ...] = ("零", *"一二三四五六七八九十", *(f"十{d}" for d in "一二三四五六"))
PLACEHOLDER = "□"
"""Printed for a character the report font has no glyph for (listed in a note)."""
_CONTROL_OK = frozenset("\n\t ")
MAX_EXCHANGES = 150
"""Rows of the request table; the WARC holds every exchange."""
MIN_TILE_SPACE = 72.0
"""Points of free page height below which the next screenshot tile starts a new page."""

# key -> (zh, en), the strings of a page kept as tiles (same form as reports._i18n).
_TILE_TEXT: dict[str, tuple[str, str]] = {
    "tiles_front": (
        "本网页高 {h} 像素，超出单张整页截图可拼接的上限，整页截图以 {n} 张分块截图"
        "（{first} 至 {last}）保存；本报告第{sec}部分按顺序排列全部分块。",
        "The page is {h} px tall, too tall to stitch into one screenshot: it was captured "
        "as {n} tiles ({first} to {last}), all laid out in order in section {sec}.",
    ),
    "tiles_note": (
        "该网页过高，整页截图以 {n} 张分块截图保存（宽 {w} 像素，合计高 {h} 像素）。"
        "下图按自上而下的顺序排列各分块，每块按版心宽度缩放并分为若干部分；"
        "原始 PNG 文件及其哈希值见电子数据清单。",
        "The page was too tall to stitch, so the full-page screenshot was kept as {n} tiles "
        "({w} px wide, {h} px tall in all). The tiles follow from top to bottom, each "
        "scaled to the page width and split into parts; the original PNG files and their "
        "hashes are in the exhibit list.",
    ),
    "tile_part": (
        "分块 {k}/{m}{name} 第 {i}/{n} 部分：分块第 {y0}–{y1} 像素行，整页第 {p0}–{p1} 像素行",
        "Tile {k}/{m}{name}, part {i}/{n}: tile pixel rows {y0}–{y1}, page pixel rows {p0}–{p1}",
    ),
    "tile_name": ("（{name}）", " ({name})"),
}


@functools.cache
def _glyphs(font_name: str) -> frozenset[int]:
    """Code points the registered TrueType font ``font_name`` has glyphs for."""
    font = pdfmetrics.getFont(font_name)
    return frozenset(font.face.charToGlyph)


def render_report(data: ReportInput, out_path: Path) -> Path:
    """Write the evidence report for ``data`` to ``out_path`` (A4 PDF) and return the path.

    Raises ReportError when no CJK font is installed, the screenshot (or a
    screenshot tile) is missing or unreadable, or the language is not ``zh``/``en``.
    A page kept as ``screenshot_tiles`` is laid out tile by tile, decoding one
    tile at a time while the PDF is built.
    """
    started = time.perf_counter()
    check_language(data.language)
    if not data.screenshot_tiles and data.screenshot_path is None:
        raise ReportError(f"item {data.item_id} has neither a screenshot nor screenshot tiles")
    fonts = load_fonts()
    layout = _Layout(data, fonts)
    tiles = TileSource()
    try:
        with ExitStack() as images:
            screenshot = (
                images.enter_context(open_screenshot(data.screenshot_path))
                if not data.screenshot_tiles and data.screenshot_path is not None
                else None
            )
            viewport = (
                images.enter_context(open_screenshot(data.viewport_screenshot_path))
                if data.viewport_screenshot_path is not None
                else None
            )
            story = layout.story(screenshot, viewport, tiles=tiles)
        furniture = layout.furniture()

        build_pdf(
            Path(out_path),
            story,
            furniture,
            fonts=fonts,
            meta=PdfMeta(
                title=f"{text(data.language, 'title')} {data.report_number}",
                language=data.language,
                author=data.agency,
                subject=f"manifest sha256 {data.manifest_sha256}",
                keywords=data.case_number,
                creator=_tool_name(data.tool_version),
                created_at=data.generated_at,
            ),
        )
    finally:
        tiles.close()
    logger.info(
        "report %s written to %s (%d bytes, %.2f s)",
        data.report_number,
        out_path,
        Path(out_path).stat().st_size,
        time.perf_counter() - started,
    )
    return Path(out_path)


@dataclass(frozen=True, slots=True)
class PdfMeta:
    """Document metadata, written both to the info dictionary and the PDF/A XMP."""

    title: str
    language: str
    author: str
    subject: str
    keywords: str
    creator: str
    created_at: datetime


def build_pdf(
    out_path: Path,
    story: list[Flowable],
    furniture: PageFurniture,
    *,
    fonts: ReportFonts,
    meta: PdfMeta,
) -> Path:
    """Lay out ``story`` on A4 and write it as PDF/A-2b to ``out_path`` (atomically)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and rename, so a failed build never leaves a
    # half-written report where a good one is expected.
    handle, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    os.close(handle)
    tmp_path = Path(tmp_name)
    # reportlab's output is only a draft: the PDF/A amendment writes the
    # final file, still beside the target and renamed over it at the end.
    final_tmp = tmp_path.with_name(tmp_path.name + ".pdfa")
    try:
        doc = _document(tmp_path, meta, fonts)
        with _build_lock, _binary_streams():
            doc.build(story, canvasmaker=partial(NumberedCanvas, furniture=furniture))
        make_pdfa(
            tmp_path,
            final_tmp,
            title=meta.title,
            language=meta.language,
            author=meta.author,
            subject=meta.subject,
            keywords=meta.keywords,
            creator=meta.creator,
            created_at=meta.created_at,
        )
        final_tmp.replace(out_path)
    except ReportError:
        raise
    except LayoutError as exc:
        raise ReportError(f"cannot lay out report {out_path}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot write report {out_path}: {exc}") from exc
    finally:
        tmp_path.unlink(missing_ok=True)
        final_tmp.unlink(missing_ok=True)
    return out_path


def _document(path: Path, meta: PdfMeta, fonts: ReportFonts) -> BaseDocTemplate:
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        FRAME_WIDTH,
        FRAME_HEIGHT,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    return BaseDocTemplate(
        str(path),
        pagesize=A4,
        pageTemplates=[PageTemplate(id="page", frames=[frame])],
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=meta.title,
        author=meta.author,
        subject=meta.subject,
        keywords=meta.keywords,
        creator=meta.creator,
        # Without this the canvas starts every page with Helvetica selected,
        # which puts an unembedded font into the page resources.
        initialFontName=fonts.regular,
        initialFontSize=9,
        invariant=1,
        lang="zh-CN" if meta.language == "zh" else "en",
    )


@contextmanager
def _binary_streams() -> Iterator[None]:
    # ASCII85 would inflate every screenshot stream by a quarter for no gain.
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def _tool_name(tool_version: str) -> str:
    return f"evidence-toolkit {tool_version}" if tool_version[:1].isdigit() else tool_version


def _pdf_date(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("D:%Y%m%d%H%M%S+00'00'")


def _short_digest(digest: str) -> str:
    return f"{digest[:16]}…{digest[-8:]}" if len(digest) > 28 else digest


# --- styles ----------------------------------------------------------------


class _Styles:
    def __init__(self, fonts: ReportFonts, language: str) -> None:
        regular, mono = fonts.regular, fonts.mono
        # Chinese has no spaces to break at; English prose reads better when
        # lines break between words.
        prose_wrap = "CJK" if language == "zh" else None
        self.title = ParagraphStyle(
            "title",
            fontName=regular,
            fontSize=18,
            leading=24,
            alignment=TA_CENTER,
            spaceAfter=10,
            textColor=colors.HexColor("#1F3A5F"),
        )
        self.heading = ParagraphStyle(
            "heading",
            fontName=regular,
            fontSize=12.5,
            leading=17,
            spaceBefore=12,
            spaceAfter=6,
            textColor=colors.HexColor("#1F3A5F"),
            keepWithNext=1,
        )
        self.body = ParagraphStyle(
            "body",
            fontName=regular,
            fontSize=9,
            leading=13.5,
            wordWrap=prose_wrap,
            spaceAfter=4,
        )
        self.label = ParagraphStyle(
            "label",
            fontName=regular,
            fontSize=8.5,
            leading=12,
            textColor=colors.HexColor("#333333"),
            wordWrap=prose_wrap,
        )
        self.value = ParagraphStyle(
            "value",
            fontName=regular,
            fontSize=8.5,
            leading=12,
            wordWrap=prose_wrap,
        )
        # Hashes, URLs and commands break at any character: they have no
        # natural break points and must never run past the margin.
        self.value_right = ParagraphStyle("value_right", parent=self.value, alignment=TA_RIGHT)
        self.mono = ParagraphStyle(
            "mono",
            fontName=mono,
            fontSize=7.8,
            leading=11,
            wordWrap="CJK",
        )
        self.hash = ParagraphStyle(
            "hash",
            fontName=mono,
            fontSize=7,
            leading=9.5,
            wordWrap="CJK",
        )
        self.code = ParagraphStyle(
            "code",
            fontName=mono,
            fontSize=7.5,
            leading=10.5,
            wordWrap="CJK",
            backColor=colors.HexColor("#F1F3F5"),
            borderPadding=(3, 4, 3, 4),
            leftIndent=16,
            rightIndent=4,
            spaceBefore=3,
            spaceAfter=7,
        )
        self.expected_label = ParagraphStyle(
            "expected_label",
            fontName=regular,
            fontSize=7.5,
            leading=10,
            leftIndent=16,
            textColor=colors.HexColor("#555555"),
        )
        self.expected = ParagraphStyle(
            "expected",
            fontName=mono,
            fontSize=7.5,
            leading=10.5,
            wordWrap="CJK",
            leftIndent=16,
            spaceAfter=7,
            textColor=colors.HexColor("#1B5E20"),
        )
        self.step = ParagraphStyle(
            "step",
            parent=self.body,
            leftIndent=16,
            firstLineIndent=-16,
            spaceAfter=2,
        )
        self.header_cell = ParagraphStyle(
            "header_cell",
            fontName=regular,
            fontSize=8,
            leading=11,
            textColor=colors.white,
            wordWrap=prose_wrap,
        )
        self.cell = ParagraphStyle(
            "cell",
            fontName=regular,
            fontSize=8,
            leading=11,
            wordWrap="CJK",
        )
        self.warning = ParagraphStyle(
            "warning",
            fontName=regular,
            fontSize=10.5,
            leading=15,
            textColor=colors.HexColor("#B00020"),
            alignment=TA_CENTER,
            wordWrap=prose_wrap,
        )
        self.pending = ParagraphStyle(
            "pending",
            fontName=regular,
            fontSize=10,
            leading=14,
            textColor=colors.HexColor("#8A5A00"),
            wordWrap=prose_wrap,
        )
        self.caption = ParagraphStyle(
            "caption",
            fontName=regular,
            fontSize=8,
            leading=11,
            textColor=colors.HexColor("#333333"),
            wordWrap=prose_wrap,
        )


_GRID = colors.HexColor("#C8CDD3")
_LABEL_BG = colors.HexColor("#F3F5F8")
_HEAD_BG = colors.HexColor("#1F3A5F")


# --- layout ----------------------------------------------------------------


class _Layout:
    def __init__(self, data: ReportInput, fonts: ReportFonts) -> None:
        self.data = data
        self.lang = data.language
        self.fonts = fonts
        self.s = _Styles(fonts, data.language)
        self.section_count = 0
        self.section_numbers: dict[str, int] = {}
        # Characters of captured or entered text that the font has no glyph
        # for, in first-seen order: printed as a placeholder and listed.
        self.missing_glyphs: dict[str, None] = {}
        # Sum of the screenshot tiles' pixel heights, once the tiled section is laid out.
        self.tiles_pixel_height = 0

    def t(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def heading(self, key: str) -> Paragraph:
        """A numbered section heading; numbers follow the order sections are laid out."""
        self.section_count += 1
        self.section_numbers[key] = self.section_count
        number = (
            _ZH_NUMERALS[self.section_count]
            if self.lang == "zh" and self.section_count < len(_ZH_NUMERALS)
            else str(self.section_count)
        )
        title = self.t("sec_number", n=number, title=self.t(key))
        return Paragraph(escape(title), self.s.heading)

    def section_label(self, key: str) -> str:
        number = self.section_numbers.get(key, 0)
        if self.lang == "zh" and 0 < number < len(_ZH_NUMERALS):
            return _ZH_NUMERALS[number]
        return str(number)

    def safe(self, value: str, font_name: str | None = None) -> str:
        """``value`` with every character the font cannot draw replaced by a visible box.

        reportlab would otherwise draw the font's empty .notdef glyph: a
        silently wrong page. The replaced code points are listed in the report.
        """
        covered = _glyphs(font_name or self.fonts.regular)
        if all(ord(ch) in covered or ch in _CONTROL_OK for ch in value):
            return value
        out: list[str] = []
        for ch in value:
            if ord(ch) in covered or ch in _CONTROL_OK:
                out.append(ch)
            else:
                self.missing_glyphs.setdefault(ch)
                out.append(PLACEHOLDER if ord(PLACEHOLDER) in covered else "?")
        return "".join(out)

    # small builders

    def p(self, value: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(self.safe(value, style.fontName)), style)

    def lines(self, values: Sequence[str], style: ParagraphStyle) -> Paragraph:
        return Paragraph("<br/>".join(escape(self.safe(v, style.fontName)) for v in values), style)

    def clip(self, value: str, limit: int = MAX_TEXT_CHARS) -> str:
        if len(value) <= limit:
            return value
        return value[:limit] + self.t("clipped", n=len(value))

    def clip_list(self, values: Sequence[str], limit: int = MAX_TEXT_CHARS) -> list[str]:
        shown = [self.clip(v, limit) for v in values[:MAX_LIST_ITEMS]]
        if len(values) > MAX_LIST_ITEMS:
            shown.append(self.t("more_items", n=len(values) - MAX_LIST_ITEMS))
        return shown

    def time_cell(self, moment: datetime) -> Paragraph:
        local = moment.astimezone(BEIJING)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S") + f".{local.microsecond // 1000:03d} +08:00"
        return self.lines(
            [self.t("time_beijing", t=stamp), self.t("time_utc", t=isoformat(moment))],
            self.s.value,
        )

    def kv_table(self, rows: Sequence[tuple[str, Flowable]]) -> Table:
        cells = [[self.p(label, self.s.label), value] for label, value in rows]
        table = Table(
            cells,
            colWidths=[LABEL_WIDTH, FRAME_WIDTH - LABEL_WIDTH],
            hAlign="LEFT",
        )
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
                    ("BACKGROUND", (0, 0), (0, -1), _LABEL_BG),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                    ("LEFTPADDING", (0, 0), (-1, -1), 5),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        return table

    def boxed(self, message: str, style: ParagraphStyle, border: Any, fill: Any) -> Table:
        table = Table([[Paragraph(escape(message), style)]], colWidths=[FRAME_WIDTH], hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
                    ("BOX", (0, 0), (-1, -1), 1.5, border),
                    ("BACKGROUND", (0, 0), (-1, -1), fill),
                    ("TOPPADDING", (0, 0), (-1, -1), 7),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                ]
            )
        )
        return table

    def warning_box(self, key: str) -> list[Flowable]:
        box = self.boxed(
            self.t(key),
            self.s.warning,
            colors.HexColor("#B00020"),
            colors.HexColor("#FDECEE"),
        )
        return [box, Spacer(1, 6)]

    def pending_box(self, key: str) -> Table:
        return self.boxed(
            self.t(key), self.s.pending, colors.HexColor("#C98A00"), colors.HexColor("#FFF6E0")
        )

    # document

    def furniture(self) -> PageFurniture:
        d = self.data
        return PageFurniture(
            font_name=self.fonts.regular,
            header_left=self.t("title"),
            header_right=self.safe(f"{self.t('case_number')} {d.case_number}"),
            footer_pages=self.t("footer_pages", page="{page}", total="{total}"),
            footer_right="  ·  ".join(
                [
                    self.t("footer_report", number=d.report_number),
                    self.t("footer_manifest", digest=_short_digest(d.manifest_sha256)),
                ]
            ),
            pdf_date=_pdf_date(d.generated_at),
            id_seed="\n".join([d.report_number, d.manifest_sha256, d.language]).encode(),
        )

    def story(
        self,
        screenshot: Image.Image | None,
        viewport: Image.Image | None = None,
        *,
        tiles: TileSource | None = None,
    ) -> list[Flowable]:
        """The report's flowables; ``tiles`` decodes ``data.screenshot_tiles`` when
        ``screenshot`` is None."""
        story: list[Flowable] = []
        story += self.front_matter()
        after_front = len(story)
        story += self.capture_summary()
        story += self.environment_section()
        if screenshot is not None:
            story += self.screenshot_section(screenshot)
        else:
            if tiles is None or not self.data.screenshot_tiles:
                raise ReportError(f"item {self.data.item_id} has no screenshot to lay out")
            story += self.tiled_screenshot_section(tiles)
        if viewport is not None:
            story += self.viewport_section(viewport)
        story += self.exhibit_section()
        story += self.network_section()
        story += self.timestamp_section(self.data.timestamp)
        story += self.anchor_section(self.data.anchor)
        story += self.custody_section()
        story += self.qr_section()
        story += self.verification_section()
        story += self.closing_section()
        if screenshot is None:
            # A reader of the first page must know the screenshot is in pieces.
            story[after_front:after_front] = [Spacer(1, 6), self.tiles_front_note()]
        if self.missing_glyphs:
            # Up front, where a reader meets the placeholders' explanation first.
            story[after_front:after_front] = [Spacer(1, 6), self.glyph_note()]
        return story

    def tt(self, key: str, **values: object) -> str:
        return _TILE_TEXT[key][check_language(self.lang)].format(**values)

    def tile_names(self) -> list[str] | None:
        """The tiles' file names from the capture record, when it lists every tile."""
        names = [tile.name for tile in self.data.capture.screenshot_tiles]
        return names if len(names) == len(self.data.screenshot_tiles) else None

    def tiles_front_note(self) -> Table:
        d = self.data
        count = len(d.screenshot_tiles)
        names = self.tile_names() or ["#1", f"#{count}"]
        return self.boxed(
            self.safe(
                self.tt(
                    "tiles_front",
                    h=f"{d.capture.page_height or self.tiles_pixel_height:,}",
                    n=count,
                    first=names[0],
                    last=names[-1],
                    sec=self.section_label("sec_screenshot"),
                )
            ),
            self.s.pending,
            colors.HexColor("#C98A00"),
            colors.HexColor("#FFF6E0"),
        )

    def tiled_screenshot_section(self, source: TileSource) -> list[Flowable]:
        paths = self.data.screenshot_tiles
        names = self.tile_names()
        sizes: list[tuple[int, int]] = []
        for number, path in enumerate(paths, 1):
            try:
                sizes.append(screenshot_size(path))
            except ReportError as exc:
                # The store path is a digest; the reader needs to know which tile.
                name = f" ({names[number - 1]})" if names else ""
                raise ReportError(
                    f"screenshot tile {number}/{len(paths)}{name}: {exc.message}"
                ) from exc
        self.tiles_pixel_height = sum(h for _w, h in sizes)
        heading = self.heading("sec_screenshot")
        note = self.p(
            self.tt(
                "tiles_note",
                n=len(paths),
                w=max(w for w, _h in sizes),
                h=f"{self.tiles_pixel_height:,}",
            ),
            self.s.body,
        )
        caption_h = ScreenshotTile.caption_space()
        flowables: list[Flowable] = [PageBreak(), heading, note]
        # Points still free on the current page: each tile continues where the
        # previous one ended rather than leaving the rest of its last page empty.
        free = FRAME_HEIGHT - _height(heading) - _height(note)
        page_y = 0
        for number, (path, (width, height)) in enumerate(zip(paths, sizes, strict=True), 1):
            scale = FRAME_WIDTH / width  # points per source pixel
            full_px = max(1, int((FRAME_HEIGHT - caption_h - 2) / scale))
            fits_here = free - caption_h - 4 >= MIN_TILE_SPACE
            first_px = min(full_px, int((free - caption_h - 4) / scale)) if fits_here else full_px
            ranges = slice_rows(height, max(1, first_px), full_px)
            name = self.tt("tile_name", name=names[number - 1]) if names else ""
            for part, (top, bottom) in enumerate(ranges, 1):
                caption = self.tt(
                    "tile_part",
                    k=number,
                    m=len(paths),
                    name=name,
                    i=part,
                    n=len(ranges),
                    y0=top,
                    y1=bottom - 1,
                    p0=page_y + top,
                    p1=page_y + bottom - 1,
                )
                flowables.append(
                    TileSlice(
                        source,
                        path,
                        (top, bottom),
                        width,
                        FRAME_WIDTH,
                        self.safe(caption),
                        self.fonts.regular,
                    )
                )
            last_top, last_bottom = ranges[-1]
            used = caption_h + (last_bottom - last_top) * scale
            free = free - used if fits_here and len(ranges) == 1 else FRAME_HEIGHT - used
            page_y += height
        return flowables

    def glyph_note(self) -> Table:
        chars = self.t("list_sep").join(
            f"U+{ord(ch):04X}" for ch in list(self.missing_glyphs)[:MAX_LIST_ITEMS]
        )
        if len(self.missing_glyphs) > MAX_LIST_ITEMS:
            chars += self.t("more_items", n=len(self.missing_glyphs) - MAX_LIST_ITEMS)
        return self.boxed(
            self.t("glyph_note", n=len(self.missing_glyphs), chars=chars),
            self.s.pending,
            colors.HexColor("#C98A00"),
            colors.HexColor("#FFF6E0"),
        )

    def front_matter(self) -> list[Flowable]:
        d = self.data
        rows: list[tuple[str, Flowable]] = [
            (self.t("report_number"), self.p(d.report_number, self.s.value)),
            (self.t("generated_at"), self.time_cell(d.generated_at)),
            (self.t("case_number"), self.p(d.case_number, self.s.value)),
            (self.t("case_title"), self.p(d.case_title, self.s.value)),
            (self.t("case_cause"), self.p(d.case_cause, self.s.value)),
            (self.t("agency"), self.p(d.agency, self.s.value)),
            (
                self.t("officers"),
                self.p(self.t("list_sep").join(d.officers) or self.t("none"), self.s.value),
            ),
            (self.t("item_id"), self.p(d.item_id, self.s.mono)),
            (self.t("tool_version"), self.p(_tool_name(d.tool_version), self.s.value)),
        ]
        if d.notes:
            rows.append((self.t("notes"), self.lines(self.clip_list(d.notes), self.s.value)))
        return [Paragraph(escape(self.t("title")), self.s.title), self.kv_table(rows)]

    def capture_summary(self) -> list[Flowable]:
        c = self.data.capture
        unknown = self.t("unknown")
        redirects: Flowable = (
            self.lines(
                self.clip_list(
                    [f"{i}. {url}" for i, url in enumerate(c.redirect_chain, 1)], MAX_URL_CHARS
                ),
                self.s.mono,
            )
            if c.redirect_chain
            else self.p(self.t("no_redirects"), self.s.value)
        )
        warnings: Flowable = (
            self.lines(self.clip_list([f"• {w}" for w in c.warnings]), self.s.value)
            if c.warnings
            else self.p(self.t("none"), self.s.value)
        )
        rows: list[tuple[str, Flowable]] = [
            (
                self.t("requested_url"),
                self.p(self.clip(c.requested_url, MAX_URL_CHARS), self.s.mono),
            ),
            (self.t("final_url"), self.p(self.clip(c.final_url, MAX_URL_CHARS), self.s.mono)),
            (self.t("redirect_chain"), redirects),
            (self.t("capture_start"), self.time_cell(c.started_at)),
            (self.t("capture_end"), self.time_cell(c.finished_at)),
            (self.t("page_title"), self.p(self.clip(c.page_title) or unknown, self.s.value)),
            (
                self.t("http_status"),
                self.p(str(c.http_status) if c.http_status is not None else unknown, self.s.value),
            ),
            (self.t("server_ip"), self.p(c.server_ip or unknown, self.s.mono)),
            (self.t("browser_version"), self.p(c.browser_version or unknown, self.s.value)),
            (self.t("user_agent"), self.p(self.clip(c.user_agent) or unknown, self.s.mono)),
            (
                self.t("viewport"),
                self.p(self.t("viewport_value", w=c.viewport[0], h=c.viewport[1]), self.s.value),
            ),
            (self.t("warnings"), warnings),
        ]
        if c.device:
            rows.append((self.t("device"), self.p(c.device, self.s.value)))
        if c.capture_host:
            rows.append((self.t("capture_host"), self.p(c.capture_host, self.s.mono)))
        if c.outbound_ip:
            rows.append((self.t("outbound_ip"), self.p(c.outbound_ip, self.s.mono)))
        if c.clock_offset_ms is not None:
            rows.append(
                (
                    self.t("clock_offset"),
                    self.p(
                        self.t(
                            "clock_offset_value",
                            ms=f"{c.clock_offset_ms:+d}",
                            source=c.clock_source or unknown,
                        ),
                        self.s.value,
                    ),
                )
            )
        if c.steps:
            rows.append(
                (
                    self.t("steps"),
                    self.lines(
                        self.clip_list(
                            [f"{s.index}. {s.description} — {s.outcome}" for s in c.steps]
                        ),
                        self.s.value,
                    ),
                )
            )
        return [self.heading("sec_capture"), self.kv_table(rows)]

    def environment_section(self) -> list[Flowable]:
        checks = self.data.capture.environment
        out: list[Flowable] = [self.heading("sec_environment")]
        if not checks:
            out.append(self.pending_box("env_missing"))
            return out
        widths = [130.0, 56.0]
        widths.append(FRAME_WIDTH - sum(widths))
        head = [
            self.p(self.t(k), self.s.header_cell) for k in ("col_check", "col_result", "col_detail")
        ]
        cells: list[list[Any]] = [head]
        style = self.grid_style()
        for index, check in enumerate(checks, start=1):
            cells.append(
                [
                    self.p(check.name, self.s.cell),
                    self.p(self.env_status(check), self.s.cell),
                    self.p(self.clip(check.detail), self.s.cell),
                ]
            )
            if check.status == "fail":
                style.append(("TEXTCOLOR", (1, index), (1, index), colors.HexColor("#B00020")))
                style.append(("BACKGROUND", (1, index), (1, index), colors.HexColor("#FDECEE")))
            elif check.status == "warn":
                style.append(("BACKGROUND", (1, index), (1, index), colors.HexColor("#FFF6E0")))
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle(style))
        out.append(table)
        return out

    def env_status(self, check: EnvironmentCheck) -> str:
        key = {
            "pass": "env_pass",
            "warn": "env_warn",
            "fail": "env_fail",
            "not_checked": "env_not_checked",
        }.get(check.status)
        # An unknown status is printed as recorded rather than mapped to a guess.
        return self.t(key) if key else check.status

    def grid_style(self) -> list[tuple[Any, ...]]:
        return [
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
            ("BACKGROUND", (0, 0), (-1, 0), _HEAD_BG),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]

    def grid_table(
        self, head_keys: Sequence[str], rows: Sequence[Sequence[Flowable]], widths: Sequence[float]
    ) -> Table:
        head = [self.p(self.t(k), self.s.header_cell) for k in head_keys]
        table = Table([head, *rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle(self.grid_style()))
        return table

    def viewport_section(self, image: Image.Image) -> list[Flowable]:
        scale = FRAME_WIDTH / image.width
        note = self.p(self.t("viewport_note", w=image.width, h=image.height), self.s.body)
        # A viewport shot is one screen: scale it to fit one page whatever its shape.
        max_h = FRAME_HEIGHT - 80
        width = FRAME_WIDTH if image.height * scale <= max_h else max_h * image.width / image.height
        tile = ScreenshotTile(image, width, self.t("viewport_heading"), self.fonts.regular)
        return [
            PageBreak(),
            Paragraph(escape(self.t("viewport_heading")), self.s.heading),
            note,
            tile,
        ]

    def network_section(self) -> list[Flowable]:
        c = self.data.capture
        out: list[Flowable] = [
            self.heading("sec_network"),
            self.p(self.t("net_intro"), self.s.body),
        ]
        out.append(Paragraph(escape(self.t("dns_heading")), self.s.label))
        out.append(Spacer(1, 2))
        if c.hosts:
            rows = [
                [
                    self.p(
                        h.host if h.host == h.unicode_host else f"{h.unicode_host} ({h.host})",
                        self.s.mono,
                    ),
                    self.lines(list(h.addresses) or [h.error or self.t("net_none")], self.s.mono),
                ]
                for h in c.hosts[:MAX_EXCHANGES]
            ]
            out.append(
                self.grid_table(("col_host", "col_addresses"), rows, [200.0, FRAME_WIDTH - 200.0])
            )
        else:
            out.append(self.p(self.t("net_none"), self.s.value))
        out.append(Spacer(1, 8))
        out.append(Paragraph(escape(self.t("tls_heading")), self.s.label))
        out.append(Spacer(1, 2))
        if not c.tls:
            out.append(self.p(self.t("net_none"), self.s.value))
        for origin in c.tls:
            validity = self.t(
                "tls_validity_value",
                a=isoformat(origin.not_before) if origin.not_before else self.t("unknown"),
                b=isoformat(origin.not_after) if origin.not_after else self.t("unknown"),
            )
            verdict = (
                self.t("tls_ok")
                if origin.certificate_error is None
                else self.t("tls_error", e=origin.certificate_error)
            )
            out.append(
                KeepTogether(
                    [
                        self.kv_table(
                            [
                                (origin.origin, self.p(verdict, self.s.value)),
                                (self.t("tls_subject"), self.p(origin.subject, self.s.mono)),
                                (self.t("tls_issuer"), self.p(origin.issuer, self.s.mono)),
                                (self.t("tls_validity"), self.p(validity, self.s.mono)),
                                (
                                    self.t("tls_protocol"),
                                    self.p(f"{origin.protocol} / {origin.cipher}", self.s.mono),
                                ),
                                (
                                    self.t("tls_san"),
                                    self.p(
                                        self.clip(", ".join(origin.subject_alt_names)),
                                        self.s.mono,
                                    ),
                                ),
                                (
                                    self.t("tls_chain"),
                                    self.lines(list(origin.chain_sha256), self.s.hash),
                                ),
                            ]
                        ),
                        Spacer(1, 6),
                    ]
                )
            )
        out.append(Spacer(1, 8))
        out.append(Paragraph(escape(self.t("exchanges_heading")), self.s.label))
        out.append(Spacer(1, 2))
        if c.exchanges:
            rows = [
                [
                    self.p(str(i), self.s.cell),
                    self.p(e.method, self.s.mono),
                    self.p(str(e.status), self.s.mono),
                    self.p(e.server_ip or "—", self.s.mono),
                    self.p(self.clip(e.url, 300), self.s.hash),
                ]
                for i, e in enumerate(c.exchanges[:MAX_EXCHANGES], start=1)
            ]
            widths = [26.0, 40.0, 36.0, 90.0]
            widths.append(FRAME_WIDTH - sum(widths))
            out.append(
                self.grid_table(
                    ("col_no", "col_method", "col_status", "col_ip", "col_url"), rows, widths
                )
            )
            if len(c.exchanges) > MAX_EXCHANGES:
                out.append(
                    self.p(self.t("more_items", n=len(c.exchanges) - MAX_EXCHANGES), self.s.caption)
                )
        else:
            out.append(self.p(self.t("net_none"), self.s.value))
        return out

    def custody_section(self) -> list[Flowable]:
        lines = self.data.custody
        out: list[Flowable] = [self.heading("sec_custody")]
        if not lines:
            out.append(self.pending_box("custody_missing"))
            return [KeepTogether(out)]
        widths = [26.0, 92.0, 90.0, 90.0]
        widths.append(FRAME_WIDTH - sum(widths))
        head = [
            self.p(self.t(k), self.s.header_cell)
            for k in ("col_no", "col_time", "col_actor", "col_action", "col_reason")
        ]
        cells: list[list[Any]] = [head]
        style = self.grid_style()
        style = [entry for entry in style if entry[0] != "GRID"]
        style.append(("BOX", (0, 0), (-1, -1), 0.6, _GRID))
        for row_index, line in enumerate(lines):
            main = 1 + 2 * row_index
            local = line.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +08:00")
            cells.append(
                [
                    self.p(str(line.seq), self.s.cell),
                    self.p(local, self.s.cell),
                    self.p(self.clip(line.actor), self.s.cell),
                    self.p(self.clip(line.action), self.s.cell),
                    self.p(self.clip(line.reason), self.s.cell),
                ]
            )
            cells.append(
                ["", self.p(f"{self.t('custody_hash')} {line.hash_after}", self.s.hash), "", "", ""]
            )
            style += [
                ("SPAN", (1, main + 1), (-1, main + 1)),
                ("NOSPLIT", (0, main), (-1, main + 1)),
                ("LINEABOVE", (0, main), (-1, main), 0.6, _GRID),
                ("TOPPADDING", (0, main + 1), (-1, main + 1), 0),
            ]
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle(style))
        out.append(table)
        return out

    def screenshot_section(self, image: Image.Image) -> list[Flowable]:
        heading = self.heading("sec_screenshot")
        scale = FRAME_WIDTH / image.width  # points per source pixel
        caption_h = ScreenshotTile.caption_space()
        full_px = int((FRAME_HEIGHT - caption_h - 2) / scale)
        # The note states the tile count, and its height decides how much of
        # the first page is left for the first tile: iterate to a fixed point
        # (in practice one or two rounds, as n's digits barely move the note).
        count = len(slice_rows(image.height, full_px, full_px))
        for _ in range(4):
            note = self.p(
                self.t("screenshot_note", w=image.width, h=image.height, n=count), self.s.body
            )
            above = _height(heading) + _height(note)
            first_px = max(1, int((FRAME_HEIGHT - above - caption_h - 4) / scale))
            ranges = slice_rows(image.height, first_px, full_px)
            if len(ranges) == count:
                break
            count = len(ranges)
        flowables: list[Flowable] = [PageBreak(), heading, note]
        for index, (top, bottom) in enumerate(ranges, 1):
            tile = image.crop((0, top, image.width, bottom))
            caption = self.t("screenshot_part", i=index, n=len(ranges), y0=top, y1=bottom - 1)
            flowables.append(
                ScreenshotTile(tile, FRAME_WIDTH, caption, self.fonts.regular, font_size=8.0)
            )
        return flowables

    def exhibit_section(self) -> list[Flowable]:
        d = self.data
        out: list[Flowable] = [
            PageBreak(),
            self.heading("sec_exhibits"),
        ]
        widths = [30.0, 190.0, 78.0, 110.0]
        widths.append(FRAME_WIDTH - sum(widths))
        head = [
            self.p(self.t(k), self.s.header_cell)
            for k in ("col_no", "col_path", "col_role", "col_type", "col_size")
        ]
        cells: list[list[Any]] = [head]
        style: list[tuple[Any, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
            ("BACKGROUND", (0, 0), (-1, 0), _HEAD_BG),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BOX", (0, 0), (-1, -1), 0.6, _GRID),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
        for row_index, exhibit in enumerate(d.exhibits):
            main = 1 + 2 * row_index
            cells.append(self.exhibit_main_row(exhibit))
            cells.append(["", self.exhibit_hash_cell(exhibit), "", "", ""])
            style += [
                ("SPAN", (1, main + 1), (-1, main + 1)),
                ("NOSPLIT", (0, main), (-1, main + 1)),
                ("LINEABOVE", (0, main), (-1, main), 0.6, _GRID),
                ("TOPPADDING", (0, main + 1), (-1, main + 1), 0),
            ]
            if row_index % 2:
                style.append(("BACKGROUND", (0, main), (-1, main + 1), _LABEL_BG))
        if not d.exhibits:
            cells.append([self.p(self.t("exhibits_empty"), self.s.cell), "", "", "", ""])
            style.append(("SPAN", (0, 1), (-1, 1)))
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle(style))
        out.append(table)
        out.append(Spacer(1, 8))
        out.append(
            self.kv_table(
                [
                    (self.t("manifest_sha256"), self.p(d.manifest_sha256, self.s.mono)),
                    (self.t("manifest_sm3"), self.p(d.manifest_sm3, self.s.mono)),
                ]
            )
        )
        out.append(Spacer(1, 3))
        out.append(self.p(self.t("manifest_note"), self.s.caption))
        return out

    def exhibit_main_row(self, exhibit: ExhibitRow) -> list[Flowable]:
        return [
            self.p(str(exhibit.number), self.s.cell),
            self.p(self.clip(exhibit.path), self.s.mono),
            self.p(exhibit.role, self.s.cell),
            self.p(exhibit.media_type, self.s.mono),
            self.p(f"{exhibit.size:,}", self.s.mono),
        ]

    def exhibit_hash_cell(self, exhibit: ExhibitRow) -> Paragraph:
        return Paragraph(
            f"SHA-256&nbsp;{escape(exhibit.sha256)}<br/>SM3&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;"
            f"{escape(exhibit.sm3)}",
            self.s.hash,
        )

    def timestamp_section(self, token: TimestampToken | None) -> list[Flowable]:
        out: list[Flowable] = [self.heading("sec_timestamp")]
        if token is None:
            out.append(self.pending_box("ts_missing"))
            return out
        if token.development:
            out += self.warning_box("ts_dev_warning")
        rows: list[tuple[str, Flowable]] = [
            (self.t("tsa_url"), self.p(self.clip(token.tsa_url), self.s.mono)),
            (self.t("tsa_subject"), self.p(self.clip(token.tsa_subject), self.s.value)),
            (
                self.t("serial"),
                self.p(f"{token.serial_number} (0x{token.serial_number:x})", self.s.mono),
            ),
            (self.t("gen_time"), self.time_cell(token.gen_time)),
            (self.t("policy"), self.p(token.policy_oid, self.s.mono)),
            (self.t("hash_algorithm"), self.p(token.hash_algorithm, self.s.value)),
            (self.t("message_imprint"), self.p(token.message_imprint, self.s.mono)),
        ]
        if token.nonce is not None:
            rows.append((self.t("nonce"), self.p(str(token.nonce), self.s.mono)))
        out.append(self.kv_table(rows))
        # A warning box stranded at a page foot, away from the values it
        # qualifies, could be overlooked.
        return [KeepTogether(out)]

    def anchor_section(self, anchor: AnchorReceipt | None) -> list[Flowable]:
        out: list[Flowable] = [self.heading("sec_anchor")]
        if anchor is None:
            out.append(self.pending_box("anchor_missing"))
            return out
        if anchor.development:
            out += self.warning_box("anchor_dev_warning")
        root_note = (
            "root_is_manifest"
            if _same_hex(anchor.root, self.data.manifest_sha256)
            else "root_differs"
        )
        rows: list[tuple[str, Flowable]] = [
            (self.t("network"), self.p(anchor.network_name, self.s.value)),
            (self.t("chain_id"), self.p(str(anchor.chain_id), self.s.mono)),
            (self.t("contract"), self.p(anchor.contract_address, self.s.mono)),
            (self.t("tx_hash"), self.p(anchor.transaction_hash, self.s.mono)),
            (self.t("block_number"), self.p(str(anchor.block_number), self.s.mono)),
            (self.t("block_hash"), self.p(anchor.block_hash, self.s.mono)),
            (self.t("block_time"), self.time_cell(anchor.block_time)),
            (
                self.t("root"),
                Paragraph(
                    f'<font name="{self.fonts.mono}" size="7.8">{escape(anchor.root)}</font>'
                    f"<br/>{escape(self.t(root_note))}",
                    self.s.value,
                ),
            ),
            (self.t("submitter"), self.p(anchor.submitter, self.s.mono)),
        ]
        if anchor.reference:
            rows.append((self.t("reference"), self.p(anchor.reference, self.s.mono)))
        check = self.data.anchor_check
        rows.append(
            (
                self.t("confirmations"),
                self.p(
                    self.t("confirmations_value", n=check.confirmations)
                    if check is not None
                    else self.t("confirmations_unknown"),
                    self.s.value,
                ),
            )
        )
        if anchor.leaf:
            rows += [
                (self.t("merkle_leaf"), self.p(anchor.leaf, self.s.mono)),
                (
                    self.t("merkle_position"),
                    self.p(
                        self.t("merkle_position_value", i=anchor.leaf_index, n=anchor.tree_size),
                        self.s.value,
                    ),
                ),
                (
                    self.t("merkle_proof"),
                    self.lines(
                        [f"{i}. {h}" for i, h in enumerate(anchor.proof, start=1)],
                        self.s.hash,
                    )
                    if anchor.proof
                    else self.p(self.t("merkle_proof_empty"), self.s.value),
                ),
                (self.t("merkle_root"), self.p(anchor.root, self.s.mono)),
            ]
        out.append(self.kv_table(rows))
        return [KeepTogether(out)]

    def qr_section(self) -> list[Flowable]:
        d = self.data
        a = d.anchor
        payload = qr_payload(
            d.manifest_sha256,
            a.chain_id if a else None,
            a.contract_address if a else None,
            a.transaction_hash if a else None,
        )
        side = [
            self.p(self.t("qr_explain"), self.s.body),
            Spacer(1, 4),
            self.p(self.t("qr_payload"), self.s.label),
            self.p(payload, self.s.mono),
        ]
        table = Table(
            [[QRFlowable(qr_matrix(payload), QR_SIZE), side]],
            colWidths=[QR_SIZE + 12, FRAME_WIDTH - QR_SIZE - 12],
            hAlign="LEFT",
        )
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, 0), 0),
                ]
            )
        )
        return [KeepTogether([self.heading("sec_qr"), table])]

    def verification_section(self) -> list[Flowable]:
        out: list[Flowable] = []
        for number, step in enumerate(self.verification_steps(), 1):
            block: list[Flowable] = [
                Paragraph(f"{number}.&nbsp;&nbsp;{escape(step.description)}", self.s.step)
            ]
            block += [self.p(command, self.s.code) for command in step.commands]
            if step.expected:
                block.append(self.p(self.t("expected"), self.s.expected_label))
                # Expected output is compared character by character, so
                # its runs of spaces (OpenSSL pads the day) must survive.
                block.append(
                    Paragraph(
                        "<br/>".join(escape(v).replace(" ", "&nbsp;") for v in step.expected),
                        self.s.expected,
                    )
                )
            if number == 1:
                # The heading and introduction travel with the first step.
                block[:0] = [
                    self.heading("sec_verify"),
                    self.p(self.t("verify_intro"), self.s.body),
                ]
            out.append(KeepTogether(block))
        return out

    def verification_steps(self) -> list[_Step]:
        d = self.data
        steps = [
            _Step(self.t("step_sums"), ["sha256sum -c SHA256SUMS"]),
            _Step(
                self.t("step_manifest", sec=self.section_label("sec_exhibits")),
                ["sha256sum manifest.json", "openssl dgst -sm3 manifest.json"],
                [f"SHA-256  {d.manifest_sha256}", f"SM3      {d.manifest_sm3}"],
            ),
        ]
        exhibit = _example_exhibit(d.exhibits)
        if exhibit is not None:
            path = _bundle_path(exhibit.path)
            steps.append(
                _Step(
                    self.t("step_sm3", file=path),
                    [f"openssl dgst -sm3 {path}"],
                    [f"SM3      {exhibit.sm3}"],
                )
            )
        else:
            steps.append(_Step(self.t("step_sm3_empty"), ["openssl dgst -sm3 artifacts/<file>"]))
        ts_commands = [
            "openssl ts -verify -data manifest.json -in timestamp/token.tsr "
            "-CAfile timestamp/tsa-root.pem -untrusted timestamp/tsa-cert.pem",
            "openssl ts -reply -in timestamp/token.tsr -text",
        ]
        if d.timestamp is not None:
            steps.append(
                _Step(
                    self.t("step_ts"),
                    ts_commands,
                    [
                        "Verification: OK",
                        f"Time stamp: {_openssl_time(d.timestamp.gen_time)}",
                        f"Serial number: {_openssl_serial(d.timestamp.serial_number)}",
                    ],
                )
            )
        else:
            steps.append(_Step(self.t("step_ts_missing"), ts_commands))
        a = d.anchor
        if a is not None:
            value = (
                "0x" + d.manifest_sha256.lower() if _same_hex(a.root, d.manifest_sha256) else a.root
            )
            contract, rpc = a.contract_address, a.rpc_url
            steps.append(
                _Step(
                    self.t("step_cast"),
                    [_cast_command(contract, value, rpc)],
                    [f"{int(a.block_time.timestamp())}  ({isoformat(a.block_time)})"],
                )
            )
            steps.append(
                _Step(
                    self.t("step_receipt"),
                    [_receipt_command(a.transaction_hash, rpc)],
                    [
                        '"status": "0x1"',
                        f'"to": "{contract.lower()}"',
                        f'"blockNumber": "{hex(a.block_number)}"  ({a.block_number})',
                        f'"blockHash": "{a.block_hash}"',
                        f"logs[0].topics[1] = {value}",
                    ],
                )
            )
        else:
            value = "0x" + d.manifest_sha256.lower()
            steps.append(
                _Step(
                    self.t("step_chain_missing"),
                    [
                        _cast_command("<contract>", value, "<rpc>"),
                        _receipt_command("<tx hash>", "<rpc>"),
                    ],
                )
            )
        return steps

    def closing_section(self) -> list[Flowable]:
        d = self.data
        statement = [
            self.heading("sec_statement"),
            self.p(self.t("statement_generated", tool=_tool_name(d.tool_version)), self.s.body),
            self.p(self.t("statement_scope"), self.s.body),
        ]
        return [KeepTogether(statement), KeepTogether(self.signature_block())]

    def signature_block(self) -> list[Flowable]:
        names = list(self.data.officers) + [""] * max(0, 2 - len(self.data.officers))
        colon = "：" if self.lang == "zh" else ": "
        rows = [
            [
                self.p(f"{self.t('sig_officer')}{colon}{name}", self.s.value),
                self.p(self.t("sig_signature") + colon, self.s.value_right),
                "",
                self.p(self.t("sig_date") + colon, self.s.value_right),
                "",
            ]
            for name in names
        ]
        widths = [180.0, 84.0, 120.0, 42.0]
        widths.append(FRAME_WIDTH - sum(widths))
        table = Table(rows, colWidths=widths, rowHeights=36, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LINEBELOW", (2, 0), (2, -1), 0.7, colors.black),
                    ("LINEBELOW", (4, 0), (4, -1), 0.7, colors.black),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("RIGHTPADDING", (1, 0), (1, -1), 2),
                    ("RIGHTPADDING", (3, 0), (3, -1), 2),
                ]
            )
        )
        return [self.heading("sec_signature"), table]


# --- helpers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    description: str
    commands: list[str]
    expected: list[str] = field(default_factory=list)


def _openssl_time(moment: datetime) -> str:
    """genTime as ``openssl ts -reply -text`` prints it, e.g. ``Nov 26 10:25:09.123 2026 GMT``."""
    utc = moment.astimezone(UTC)
    # DER GeneralizedTime drops trailing zeros of the fraction, and OpenSSL
    # prints the fraction exactly as encoded.
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    dot = f".{fraction}" if fraction else ""
    return f"{utc:%b} {utc.day:2d} {utc:%H:%M:%S}{dot} {utc.year} GMT"


def _openssl_serial(serial: int) -> str:
    """The serial as OpenSSL prints it: upper-case hex in whole bytes."""
    digits = f"{serial:X}"
    return "0x" + ("0" + digits if len(digits) % 2 else digits)


def _height(flowable: Flowable) -> float:
    _, height = flowable.wrap(FRAME_WIDTH, FRAME_HEIGHT)
    return float(height + flowable.getSpaceBefore() + flowable.getSpaceAfter())


def _same_hex(prefixed: str, plain: str) -> bool:
    return prefixed.lower().removeprefix("0x") == plain.lower().removeprefix("0x")


def _example_exhibit(exhibits: Sequence[ExhibitRow]) -> ExhibitRow | None:
    # The screenshot is the exhibit a reader of this report has in front of them.
    for exhibit in exhibits:
        if "screenshot" in exhibit.role.lower():
            return exhibit
    return exhibits[0] if exhibits else None


def _bundle_path(path: str) -> str:
    # Exhibit rows may name files relative to the artifacts folder or to the bundle root.
    return path if path.startswith("artifacts/") else f"artifacts/{path.lstrip('/')}"


def _cast_command(contract: str, value: str, rpc: str) -> str:
    return f'cast call {contract} "anchoredAt(bytes32)(uint256)" {value} --rpc-url {rpc}'


def _receipt_command(tx_hash: str, rpc: str) -> str:
    body = f'{{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionReceipt","params":["{tx_hash}"]}}'
    return f"curl -s -X POST -H 'Content-Type: application/json' --data '{body}' {rpc}"
