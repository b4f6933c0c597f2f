"""The closing statement and the block where the officers sign, digitally or in ink.

Each signature line is also a place for a PAdES signature: its rectangle is
marked (a link to :data:`reports.pdfa.SIGNATURE_LINE_PREFIX` ``N``) and
the PDF/A step turns each mark into an empty signature field of the same
size, ``Officer1``, ``Officer2``, … in line order. A digital signature then
draws its visible stamp over the line; a printed, unsigned report keeps the
blank line for ink.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, Table, TableStyle

from evidence.model.records import ReportInput
from reports.pdf._front import officer_text
from reports.pdf.layout import Layout, tool_name
from reports.pdf.styles import FRAME_WIDTH
from reports.pdfa import SIGNATURE_LINE_PREFIX

_SIGNING_LINES = 2
"""Signature lines printed at least, so a second officer can sign an item captured alone."""
_SLOT_WIDTH = 214.0
_ROW_HEIGHT = 62.0
"""Room for the stamp's six lines (name, time, issuer, fingerprint) at a legible size."""


class SignatureSlot(Flowable):  # type: ignore[misc]
    """A blank signature line whose rectangle is marked for the signature field."""

    def __init__(self, number: int, width: float, height: float) -> None:
        super().__init__()
        self.number = number
        self.width = width
        self.height = height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setLineWidth(0.7)
        canvas.setStrokeColor(colors.black)
        canvas.line(0, 0, self.width, 0)
        # A link with a private URN marks the rectangle (reportlab has no
        # signature fields); the PDF/A step turns it into the empty field.
        canvas.linkURL(
            f"{SIGNATURE_LINE_PREFIX}{self.number}",
            (0, 1, self.width, self.height),
            relative=1,
            thickness=0,
        )


def closing_section(layout: Layout, data: ReportInput) -> list[Flowable]:
    s, t = layout.s, layout.t
    statement = [
        layout.heading("sec_statement"),
        layout.p(t("statement_generated", tool=tool_name(data.tool_version)), s.body),
        layout.p(t("statement_scope"), s.body),
    ]
    return [KeepTogether(statement), KeepTogether(_signature_block(layout, data.officers))]


def _signature_block(layout: Layout, officers: tuple[str, ...]) -> list[Flowable]:
    s, t = layout.s, layout.t
    names = [officer_text(layout, o) for o in officers]
    names += [""] * max(0, _SIGNING_LINES - len(officers))
    colon = "：" if layout.lang == "zh" else ": "
    rows = [
        [
            layout.p(f"{t('sig_officer')}{colon}{name}", s.value),
            layout.p(t("sig_signature") + colon, s.value_right),
            SignatureSlot(number, _SLOT_WIDTH, _ROW_HEIGHT - 4),
            layout.p(t("sig_date") + colon, s.value_right),
            "",
        ]
        for number, name in enumerate(names, start=1)
    ]
    widths = [112.0, 72.0, _SLOT_WIDTH, 34.0]
    widths.append(FRAME_WIDTH - sum(widths))
    table = Table(rows, colWidths=widths, rowHeights=_ROW_HEIGHT, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), layout.fonts.regular),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (4, 0), (4, -1), 0.7, colors.black),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("LEFTPADDING", (2, 0), (2, -1), 0),
                ("RIGHTPADDING", (2, 0), (2, -1), 0),
                ("BOTTOMPADDING", (2, 0), (2, -1), 0),
                ("RIGHTPADDING", (1, 0), (1, -1), 2),
                ("RIGHTPADDING", (3, 0), (3, -1), 2),
            ]
        )
    )
    return [layout.heading("sec_signature"), table]
