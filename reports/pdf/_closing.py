"""The closing statement and the block where the officers sign and date in ink."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, Table, TableStyle

from evidence.model.records import ReportInput
from reports.pdf.layout import Layout, tool_name
from reports.pdf.styles import FRAME_WIDTH

_SIGNING_LINES = 2
"""Signature lines printed at least, so a second officer can sign an item captured alone."""


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
    names = list(officers) + [""] * max(0, _SIGNING_LINES - len(officers))
    colon = "：" if layout.lang == "zh" else ": "
    rows = [
        [
            layout.p(f"{t('sig_officer')}{colon}{name}", s.value),
            layout.p(t("sig_signature") + colon, s.value_right),
            "",
            layout.p(t("sig_date") + colon, s.value_right),
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
                ("FONTNAME", (0, 0), (-1, -1), layout.fonts.regular),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (2, 0), (2, -1), 0.7, colors.black),
                ("LINEBELOW", (4, 0), (4, -1), 0.7, colors.black),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (1, 0), (1, -1), 2),
                ("RIGHTPADDING", (3, 0), (3, -1), 2),
            ]
        )
    )
    return [layout.heading("sec_signature"), table]
