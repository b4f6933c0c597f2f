"""How a report page looks: the A4 frame, the colours and the paragraph styles.

Shared by the evidence report and the case report, so both read as one
family of documents. Every style uses the embedded CJK font of
:mod:`reports._fonts`; nothing falls back to a base-14 font.
"""

from __future__ import annotations

from datetime import timedelta, timezone

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle

from reports._flowables import MARGIN_BOTTOM, MARGIN_TOP, MARGIN_X
from reports._fonts import ReportFonts

__all__ = [
    "BEIJING",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "GRID",
    "HEAD_BG",
    "LABEL_BG",
    "LABEL_WIDTH",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "PENDING_BORDER",
    "PENDING_FILL",
    "WARNING_BORDER",
    "WARNING_FILL",
    "Styles",
]

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
PAGE_WIDTH, PAGE_HEIGHT = A4
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
FRAME_HEIGHT = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
LABEL_WIDTH = 96.0
"""The label column of a key-value table."""

GRID = colors.HexColor("#C8CDD3")
LABEL_BG = colors.HexColor("#F3F5F8")
HEAD_BG = colors.HexColor("#1F3A5F")
WARNING_BORDER = colors.HexColor("#B00020")
WARNING_FILL = colors.HexColor("#FDECEE")
PENDING_BORDER = colors.HexColor("#C98A00")
PENDING_FILL = colors.HexColor("#FFF6E0")
_TITLE_COLOUR = colors.HexColor("#1F3A5F")


class Styles:
    """The paragraph styles of one report in one language."""

    def __init__(self, fonts: ReportFonts, language: str) -> None:
        # Chinese has no spaces to break at; English prose reads better when
        # lines break between words.
        wrap = "CJK" if language == "zh" else None
        self._prose(fonts.regular, wrap)
        self._code(fonts.regular, fonts.mono)
        self._table(fonts.regular, wrap)
        self._notices(fonts.regular, wrap)

    def _prose(self, regular: str, wrap: str | None) -> None:
        self.title = ParagraphStyle(
            "title",
            fontName=regular,
            fontSize=18,
            leading=24,
            alignment=TA_CENTER,
            spaceAfter=10,
            textColor=_TITLE_COLOUR,
        )
        self.heading = ParagraphStyle(
            "heading",
            fontName=regular,
            fontSize=12.5,
            leading=17,
            spaceBefore=12,
            spaceAfter=6,
            textColor=_TITLE_COLOUR,
            keepWithNext=1,
        )
        self.body = ParagraphStyle(
            "body", fontName=regular, fontSize=9, leading=13.5, wordWrap=wrap, spaceAfter=4
        )
        self.label = ParagraphStyle(
            "label",
            fontName=regular,
            fontSize=8.5,
            leading=12,
            textColor=colors.HexColor("#333333"),
            wordWrap=wrap,
        )
        self.value = ParagraphStyle(
            "value", fontName=regular, fontSize=8.5, leading=12, wordWrap=wrap
        )
        self.value_right = ParagraphStyle("value_right", parent=self.value, alignment=TA_RIGHT)
        self.step = ParagraphStyle(
            "step", parent=self.body, leftIndent=16, firstLineIndent=-16, spaceAfter=2
        )
        self.caption = ParagraphStyle(
            "caption",
            fontName=regular,
            fontSize=8,
            leading=11,
            textColor=colors.HexColor("#333333"),
            wordWrap=wrap,
        )

    def _code(self, regular: str, mono: str) -> None:
        # Hashes, URLs and commands break at any character: they have no
        # natural break points and must never run past the margin.
        self.mono = ParagraphStyle("mono", fontName=mono, fontSize=7.8, leading=11, wordWrap="CJK")
        self.hash = ParagraphStyle("hash", fontName=mono, fontSize=7, leading=9.5, wordWrap="CJK")
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

    def _table(self, regular: str, wrap: str | None) -> None:
        self.header_cell = ParagraphStyle(
            "header_cell",
            fontName=regular,
            fontSize=8,
            leading=11,
            textColor=colors.white,
            wordWrap=wrap,
        )
        self.cell = ParagraphStyle("cell", fontName=regular, fontSize=8, leading=11, wordWrap="CJK")

    def _notices(self, regular: str, wrap: str | None) -> None:
        self.warning = ParagraphStyle(
            "warning",
            fontName=regular,
            fontSize=10.5,
            leading=15,
            textColor=WARNING_BORDER,
            alignment=TA_CENTER,
            wordWrap=wrap,
        )
        self.pending = ParagraphStyle(
            "pending",
            fontName=regular,
            fontSize=10,
            leading=14,
            textColor=colors.HexColor("#8A5A00"),
            wordWrap=wrap,
        )
