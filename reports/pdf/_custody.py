"""The chain of custody: who did what to the item, when, and the log hash after it."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, KeepTogether, Table, TableStyle

from evidence.model.records import CustodyLine
from reports.pdf.layout import Layout
from reports.pdf.styles import BEIJING, FRAME_WIDTH, GRID


def custody_section(layout: Layout, lines: tuple[CustodyLine, ...]) -> list[Flowable]:
    out: list[Flowable] = [layout.heading("sec_custody")]
    if not lines:
        out.append(layout.pending_box("custody_missing"))
        return [KeepTogether(out)]
    widths = [26.0, 92.0, 90.0, 90.0]
    widths.append(FRAME_WIDTH - sum(widths))
    head = layout.header_row(("col_no", "col_time", "col_actor", "col_action", "col_reason"))
    cells: list[list[Any]] = [head]
    # Each entry is two rows (the event, then its hash) ruled as one.
    style = [entry for entry in layout.grid_style() if entry[0] != "GRID"]
    style.append(("BOX", (0, 0), (-1, -1), 0.6, GRID))
    for row_index, line in enumerate(lines):
        main = 1 + 2 * row_index
        cells += _entry_rows(layout, line)
        style += [
            ("SPAN", (1, main + 1), (-1, main + 1)),
            ("NOSPLIT", (0, main), (-1, main + 1)),
            ("LINEABOVE", (0, main), (-1, main), 0.6, GRID),
            ("TOPPADDING", (0, main + 1), (-1, main + 1), 0),
        ]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    out.append(table)
    return out


def _entry_rows(layout: Layout, line: CustodyLine) -> list[list[Any]]:
    s = layout.s
    local = line.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +08:00")
    return [
        [
            layout.p(str(line.seq), s.cell),
            layout.p(local, s.cell),
            layout.p(layout.clip(line.actor), s.cell),
            layout.p(layout.clip(line.action), s.cell),
            layout.p(layout.clip(line.reason), s.cell),
        ],
        ["", layout.p(f"{layout.t('custody_hash')} {line.hash_after}", s.hash), "", "", ""],
    ]
