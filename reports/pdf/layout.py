"""The report toolkit: numbered headings, glyph-safe text, tables and boxes on the A4 frame.

:class:`Layout` is what every section of a report is written with. It keeps
the state a document gathers while it is laid out: the section numbers, so
a later section can refer to an earlier one by number, and the characters
the font could not draw, which the report lists up front.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from evidence.model.records import isoformat
from reports._fonts import ReportFonts
from reports._i18n import text
from reports.pdf.styles import (
    BEIJING,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    GRID,
    HEAD_BG,
    LABEL_BG,
    LABEL_WIDTH,
    PENDING_BORDER,
    PENDING_FILL,
    WARNING_BORDER,
    WARNING_FILL,
    Styles,
)

__all__ = [
    "MAX_LIST_ITEMS",
    "MAX_TEXT_CHARS",
    "MAX_URL_CHARS",
    "PLACEHOLDER",
    "Layout",
    "flowable_height",
    "pdf_date",
    "tool_name",
]

# A table row cannot break across pages, so captured strings (a data: URL can
# be megabytes) are cut to lengths that always fit; the bundle has them whole.
MAX_URL_CHARS = 1200
MAX_TEXT_CHARS = 500
MAX_LIST_ITEMS = 30
PLACEHOLDER = "□"
"""Printed for a character the report font has no glyph for (listed in a note)."""

_ZH_NUMERALS: tuple[str, ...] = ("零", *"一二三四五六七八九十", *(f"十{d}" for d in "一二三四五六"))
_CONTROL_OK = frozenset("\n\t ")


class Layout:
    """Builders for one report in one language; sections call these, never reportlab styles."""

    def __init__(self, language: str, fonts: ReportFonts) -> None:
        self.lang = language
        self.fonts = fonts
        self.s = Styles(fonts, language)
        self.section_count = 0
        self.section_numbers: dict[str, int] = {}
        # Characters of captured or entered text that the font has no glyph
        # for, in first-seen order: printed as a placeholder and listed.
        self.missing_glyphs: dict[str, None] = {}

    def t(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    # -- headings ---------------------------------------------------------

    def heading(self, key: str, title: str | None = None) -> Paragraph:
        """A numbered section heading; numbers follow the order sections are laid out.

        ``title`` defaults to the label ``key``; either way ``key`` is the name
        :meth:`section_label` finds the number under.
        """
        self.section_count += 1
        self.section_numbers[key] = self.section_count
        number = (
            _ZH_NUMERALS[self.section_count]
            if self.lang == "zh" and self.section_count < len(_ZH_NUMERALS)
            else str(self.section_count)
        )
        heading = self.t("sec_number", n=number, title=self.t(key) if title is None else title)
        return Paragraph(escape(heading), self.s.heading)

    def section_label(self, key: str) -> str:
        """The number of an already laid-out section, as its heading printed it."""
        number = self.section_numbers.get(key, 0)
        if self.lang == "zh" and 0 < number < len(_ZH_NUMERALS):
            return _ZH_NUMERALS[number]
        return str(number)

    # -- text ---------------------------------------------------------------

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
        """A moment in Beijing time (to the millisecond) and in UTC, one per line."""
        local = moment.astimezone(BEIJING)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S") + f".{local.microsecond // 1000:03d} +08:00"
        return self.lines(
            [self.t("time_beijing", t=stamp), self.t("time_utc", t=isoformat(moment))],
            self.s.value,
        )

    # -- tables and boxes -----------------------------------------------------

    def kv_table(self, rows: Sequence[tuple[str, Flowable]]) -> Table:
        """Labels on the left, values on the right, across the frame."""
        cells = [[self.p(label, self.s.label), value] for label, value in rows]
        table = Table(cells, colWidths=[LABEL_WIDTH, FRAME_WIDTH - LABEL_WIDTH], hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                    ("BACKGROUND", (0, 0), (0, -1), LABEL_BG),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                    ("LEFTPADDING", (0, 0), (-1, -1), 5),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        return table

    def grid_style(self) -> list[tuple[Any, ...]]:
        """The table style of a ruled grid with a dark header row."""
        return [
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.5, GRID),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]

    def header_row(self, keys: Sequence[str]) -> list[Flowable]:
        return [self.p(self.t(k), self.s.header_cell) for k in keys]

    def grid_table(
        self, head_keys: Sequence[str], rows: Sequence[Sequence[Flowable]], widths: Sequence[float]
    ) -> Table:
        table = Table(
            [self.header_row(head_keys), *rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT"
        )
        table.setStyle(TableStyle(self.grid_style()))
        return table

    def boxed(self, message: str, style: ParagraphStyle, border: Any, fill: Any) -> Table:
        """``message`` in a framed, filled box across the frame."""
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
        """A red box for what a reader must not miss (a development TSA or chain)."""
        box = self.boxed(self.t(key), self.s.warning, WARNING_BORDER, WARNING_FILL)
        return [box, Spacer(1, 6)]

    def pending_note(self, message: str) -> Table:
        """An amber box for what is missing or owed, never filled in with a guess."""
        return self.boxed(message, self.s.pending, PENDING_BORDER, PENDING_FILL)

    def pending_box(self, key: str) -> Table:
        return self.pending_note(self.t(key))

    def glyph_note(self) -> Table:
        """The note listing the characters printed as placeholders."""
        chars = self.t("list_sep").join(
            f"U+{ord(ch):04X}" for ch in list(self.missing_glyphs)[:MAX_LIST_ITEMS]
        )
        if len(self.missing_glyphs) > MAX_LIST_ITEMS:
            chars += self.t("more_items", n=len(self.missing_glyphs) - MAX_LIST_ITEMS)
        return self.pending_note(self.t("glyph_note", n=len(self.missing_glyphs), chars=chars))


def tool_name(tool_version: str) -> str:
    """``evidence-toolkit 1.2.3`` for a release number; anything else as given."""
    return f"evidence-toolkit {tool_version}" if tool_version[:1].isdigit() else tool_version


def pdf_date(moment: datetime) -> str:
    """``moment`` as a PDF date string in UTC, ``D:YYYYMMDDHHmmSS+00'00'``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("D:%Y%m%d%H%M%S+00'00'")


def flowable_height(flowable: Flowable) -> float:
    """Points ``flowable`` takes in the frame, its space before and after included."""
    _, height = flowable.wrap(FRAME_WIDTH, FRAME_HEIGHT)
    return float(height + flowable.getSpaceBefore() + flowable.getSpaceAfter())


@functools.cache
def _glyphs(font_name: str) -> frozenset[int]:
    """Code points the registered TrueType font ``font_name`` has glyphs for."""
    font = pdfmetrics.getFont(font_name)
    return frozenset(font.face.charToGlyph)
