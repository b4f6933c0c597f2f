"""The capture environment checks (proxy, clock, hosts file, ...) and their results."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, Table, TableStyle

from evidence.model.records import EnvironmentCheck
from reports.pdf.layout import Layout
from reports.pdf.styles import FRAME_WIDTH, PENDING_FILL, WARNING_BORDER, WARNING_FILL

_STATUS_KEYS = {
    "pass": "env_pass",
    "warn": "env_warn",
    "fail": "env_fail",
    "not_checked": "env_not_checked",
}


def environment_section(layout: Layout, checks: tuple[EnvironmentCheck, ...]) -> list[Flowable]:
    out: list[Flowable] = [layout.heading("sec_environment")]
    if not checks:
        out.append(layout.pending_box("env_missing"))
        return out
    widths = [130.0, 56.0]
    widths.append(FRAME_WIDTH - sum(widths))
    cells: list[list[Any]] = [layout.header_row(("col_check", "col_result", "col_detail"))]
    style = layout.grid_style()
    for index, check in enumerate(checks, start=1):
        cells.append(
            [
                layout.p(check.name, layout.s.cell),
                layout.p(_status(layout, check), layout.s.cell),
                layout.p(layout.clip(check.detail), layout.s.cell),
            ]
        )
        if check.status == "fail":
            style.append(("TEXTCOLOR", (1, index), (1, index), WARNING_BORDER))
            style.append(("BACKGROUND", (1, index), (1, index), WARNING_FILL))
        elif check.status == "warn":
            style.append(("BACKGROUND", (1, index), (1, index), PENDING_FILL))
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    out.append(table)
    return out


def _status(layout: Layout, check: EnvironmentCheck) -> str:
    key = _STATUS_KEYS.get(check.status)
    # An unknown status is printed as recorded rather than mapped to a guess.
    return layout.t(key) if key else check.status
