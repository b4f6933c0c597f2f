"""The exhibit list: every sealed file with its size, SHA-256 and SM3, then the manifest's."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from evidence.model.records import ExhibitRow, ReportInput
from reports.pdf._descriptions import description_cell
from reports.pdf.layout import Layout
from reports.pdf.styles import FRAME_WIDTH, GRID, HEAD_BG, LABEL_BG


def exhibit_section(layout: Layout, data: ReportInput) -> list[Flowable]:
    s, t = layout.s, layout.t
    heading = layout.heading("sec_exhibits")
    table = _exhibit_table(layout, data.exhibits)
    manifest = layout.kv_table(
        [
            (t("manifest_sha256"), layout.p(data.manifest_sha256, s.mono)),
            (t("manifest_sm3"), layout.p(data.manifest_sm3, s.mono)),
        ]
    )
    return [
        PageBreak(),
        heading,
        table,
        Spacer(1, 8),
        manifest,
        Spacer(1, 3),
        layout.p(t("manifest_note"), s.caption),
    ]


def _exhibit_table(layout: Layout, exhibits: tuple[ExhibitRow, ...]) -> Table:
    widths = [30.0, 190.0, 78.0, 110.0]
    widths.append(FRAME_WIDTH - sum(widths))
    head = layout.header_row(("col_no", "col_path", "col_role", "col_type", "col_size"))
    cells: list[list[Any]] = [head]
    # Each exhibit is two rows (its file, then its digests) ruled and shaded as one.
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), layout.fonts.regular),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BOX", (0, 0), (-1, -1), 0.6, GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    for row_index, exhibit in enumerate(exhibits):
        main = 1 + 2 * row_index
        cells.append(_main_row(layout, exhibit))
        cells.append(
            ["", [*description_cell(layout, exhibit.role), _hash_cell(layout, exhibit)], "", "", ""]
        )
        style += [
            ("SPAN", (1, main + 1), (-1, main + 1)),
            ("NOSPLIT", (0, main), (-1, main + 1)),
            ("LINEABOVE", (0, main), (-1, main), 0.6, GRID),
            ("TOPPADDING", (0, main + 1), (-1, main + 1), 0),
        ]
        if row_index % 2:
            style.append(("BACKGROUND", (0, main), (-1, main + 1), LABEL_BG))
    if not exhibits:
        cells.append([layout.p(layout.t("exhibits_empty"), layout.s.cell), "", "", "", ""])
        style.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table


def _main_row(layout: Layout, exhibit: ExhibitRow) -> list[Flowable]:
    s = layout.s
    return [
        layout.p(str(exhibit.number), s.cell),
        layout.p(layout.clip(exhibit.path), s.mono),
        layout.p(exhibit.role, s.cell),
        layout.p(exhibit.media_type, s.mono),
        layout.p(f"{exhibit.size:,}", s.mono),
    ]


def _hash_cell(layout: Layout, exhibit: ExhibitRow) -> Paragraph:
    return Paragraph(
        f"SHA-256&nbsp;{escape(exhibit.sha256)}<br/>SM3&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;"
        f"{escape(exhibit.sm3)}",
        layout.s.hash,
    )
