"""The capture environment checks (proxy, clock, hosts file, ...) and their results."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, Table, TableStyle

from evidence.model.capture_record import EnvironmentCheck, EnvironmentStatus
from reports.pdf.layout import Layout
from reports.pdf.styles import FRAME_WIDTH, PENDING_FILL, WARNING_BORDER, WARNING_FILL

_STATUS_KEYS = {
    EnvironmentStatus.PASS: "env_pass",
    EnvironmentStatus.WARN: "env_warn",
    EnvironmentStatus.FAIL: "env_fail",
    EnvironmentStatus.NOT_CHECKED: "env_not_checked",
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
        if check.status is EnvironmentStatus.FAIL:
            style.append(("TEXTCOLOR", (1, index), (1, index), WARNING_BORDER))
            style.append(("BACKGROUND", (1, index), (1, index), WARNING_FILL))
        elif check.status is EnvironmentStatus.WARN:
            style.append(("BACKGROUND", (1, index), (1, index), PENDING_FILL))
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    out.append(table)
    return out


def _status(layout: Layout, check: EnvironmentCheck) -> str:
    return layout.t(_STATUS_KEYS[check.status])
