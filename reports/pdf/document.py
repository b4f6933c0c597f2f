"""The evidence report as a document: its sections in order, its pages, its PDF/A file.

:func:`render_report` lays out a :class:`~evidence.model.records.ReportInput` on A4
pages with reportlab platypus. The same input always gives the same bytes:
the document is built in reportlab's invariant mode with its dates taken from
``generated_at``, so a report can be regenerated from a bundle and compared.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from PIL import Image
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Spacer
from reportlab.platypus.doctemplate import LayoutError

from evidence.model.errors import ReportError
from evidence.model.records import ReportInput
from reports._flowables import (
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    NumberedCanvas,
    PageFurniture,
    TileSource,
    open_screenshot,
)
from reports._fonts import ReportFonts, load_fonts
from reports._i18n import check_language, text
from reports.pdf._anchor import anchor_section
from reports.pdf._closing import closing_section
from reports.pdf._custody import custody_section
from reports.pdf._environment import environment_section
from reports.pdf._exhibits import exhibit_section
from reports.pdf._front import capture_summary, front_matter
from reports.pdf._network import network_section
from reports.pdf._procedure import verification_section
from reports.pdf._qr import qr_section
from reports.pdf._screenshots import TiledScreenshot, screenshot_section, viewport_section
from reports.pdf._timestamp import timestamp_section
from reports.pdf.layout import Layout, pdf_date, tool_name
from reports.pdf.styles import FRAME_HEIGHT, FRAME_WIDTH
from reports.pdfa import ReportIdentity, make_pdfa

logger = logging.getLogger(__name__)

__all__ = ["PdfMeta", "build_pdf", "render_report"]

# rl_config is process-global and reportlab reads it while saving; builds are
# serialised so the temporary setting below cannot leak into another build.
_build_lock = threading.Lock()


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
    identity: ReportIdentity | None = None
    """The item and manifest digest an item's report is about (XMP only)."""


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
    layout = Layout(data.language, fonts)
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
            story = report_story(layout, data, screenshot, viewport, tiles=tiles)
        build_pdf(
            Path(out_path),
            story,
            _furniture(layout, data),
            fonts=fonts,
            meta=_meta(data),
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


def report_story(
    layout: Layout,
    data: ReportInput,
    screenshot: Image.Image | None,
    viewport: Image.Image | None = None,
    *,
    tiles: TileSource | None = None,
) -> list[Flowable]:
    """The report's flowables, section after section; ``tiles`` decodes
    ``data.screenshot_tiles`` when ``screenshot`` is None."""
    capture = data.capture
    story: list[Flowable] = front_matter(layout, data)
    after_front = len(story)
    story += capture_summary(layout, capture)
    story += environment_section(layout, capture.environment.checks)
    tiled: TiledScreenshot | None = None
    if screenshot is not None:
        story += screenshot_section(layout, screenshot, data.screenshot_path)
    else:
        if tiles is None or not data.screenshot_tiles:
            raise ReportError(f"item {data.item_id} has no screenshot to lay out")
        tiled = TiledScreenshot(layout, data)
        story += tiled.section(tiles)
    if viewport is not None:
        story += viewport_section(layout, viewport, data.viewport_screenshot_path)
    story += exhibit_section(layout, data)
    story += network_section(layout, capture)
    story += timestamp_section(layout, data.timestamp, data.timestamp_standing)
    story += anchor_section(
        layout,
        data.anchor,
        manifest_sha256=data.manifest_sha256,
        check=data.anchor_check,
        standing=data.anchor_standing,
    )
    story += custody_section(layout, data.custody, data.manifest_signatures)
    story += qr_section(layout, data)
    story += verification_section(layout, data)
    story += closing_section(layout, data)
    if tiled is not None:
        # A reader of the first page must know the screenshot is in pieces.
        story[after_front:after_front] = [Spacer(1, 6), tiled.front_note()]
    if layout.missing_glyphs:
        # Up front, where a reader meets the placeholders' explanation first.
        story[after_front:after_front] = [Spacer(1, 6), layout.glyph_note()]
    return story


def _furniture(layout: Layout, data: ReportInput) -> PageFurniture:
    t = layout.t
    return PageFurniture(
        font_name=layout.fonts.regular,
        header_left=t("title"),
        header_right=layout.safe(f"{t('case_number')} {data.case_number}"),
        footer_pages=t("footer_pages", page="{page}", total="{total}"),
        footer_right="  ·  ".join(
            [
                t("footer_report", number=data.report_number),
                t("footer_manifest", digest=_short_digest(data.manifest_sha256)),
            ]
        ),
        pdf_date=pdf_date(data.generated_at),
        id_seed="\n".join([data.report_number, data.manifest_sha256, data.language]).encode(),
    )


def _meta(data: ReportInput) -> PdfMeta:
    return PdfMeta(
        title=f"{text(data.language, 'title')} {data.report_number}",
        language=data.language,
        author=data.agency,
        subject=f"manifest sha256 {data.manifest_sha256}",
        keywords=data.case_number,
        creator=tool_name(data.tool_version),
        created_at=data.generated_at,
        identity=ReportIdentity(data.item_id, data.manifest_sha256),
    )


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
            identity=meta.identity,
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


def _short_digest(digest: str) -> str:
    return f"{digest[:16]}…{digest[-8:]}" if len(digest) > 28 else digest
