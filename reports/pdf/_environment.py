"""The capture environment checks (proxy, clock, hosts file, ...) and their results.

The checks are the one source of the environment's problems: the table of
this section, the warnings on the first page and the clock and exit-address
rows there are all read from them, so the pages cannot disagree. Findings
recorded as codes are stated in the report's language; an older capture's
English detail is printed as recorded.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, Table, TableStyle

from evidence.model.capture_messages import render_warning
from evidence.model.capture_record import CaptureRecord, EnvironmentCheck, EnvironmentStatus
from evidence.model.environment_messages import CheckName, check_label, render_findings
from reports._i18n import translate
from reports.pdf._wrap import WrapParagraph
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
    widths = [110.0, 50.0]
    widths.append(FRAME_WIDTH - sum(widths))
    cells: list[list[Any]] = [layout.header_row(("col_check", "col_result", "col_detail"))]
    style = layout.grid_style()
    for index, check in enumerate(checks, start=1):
        cells.append(
            [
                _cell(layout, check_name(layout, check)),
                _cell(layout, status_word(layout, check)),
                _cell(layout, layout.clip(check_detail(layout, check))),
            ]
        )
        if check.status is EnvironmentStatus.FAIL:
            style.append(("TEXTCOLOR", (1, index), (1, index), WARNING_BORDER))
            style.append(("BACKGROUND", (1, index), (1, index), WARNING_FILL))
        elif check.status in (EnvironmentStatus.WARN, EnvironmentStatus.NOT_CHECKED):
            style.append(("BACKGROUND", (1, index), (1, index), PENDING_FILL))
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    out.append(table)
    return out


def _cell(layout: Layout, value: str) -> WrapParagraph:
    return WrapParagraph(layout.safe(value, layout.s.cell.fontName), layout.s.cell)


def check_name(layout: Layout, check: EnvironmentCheck) -> str:
    return check_label(check.name, lambda message: translate(layout.lang, message))


def status_word(layout: Layout, check: EnvironmentCheck) -> str:
    return layout.t(_STATUS_KEYS[check.status])


def check_detail(layout: Layout, check: EnvironmentCheck) -> str:
    """The check's findings in the report's language (as recorded, for older captures)."""
    if not check.findings:
        return check.detail
    return render_findings(check.findings, lambda message: translate(layout.lang, message))


def problems(capture: CaptureRecord) -> list[EnvironmentCheck]:
    """Every check that did not pass: failed, warned or could not be made."""
    return [c for c in capture.environment.checks if c.status is not EnvironmentStatus.PASS]


def warnings_cell(layout: Layout, capture: CaptureRecord) -> Flowable:
    """Page 1's warnings: every environment check that did not pass, then the capture's
    own warnings, counted and listed; "none" only when both are empty."""
    found = problems(capture)
    if not found and not capture.warnings:
        return layout.p(layout.t("none"), layout.s.value)
    lines = [layout.t("warnings_count", n=len(found) + len(capture.warnings))]
    lines += [
        layout.t("warning_check", name=check_name(layout, c), status=status_word(layout, c))
        for c in found
    ]
    # The capture wrote its warnings in English; each is read back into its code and values.
    in_language = lambda template: translate(layout.lang, template)  # noqa: E731
    lines += [
        layout.t("warning_capture", text=render_warning(w, in_language)) for w in capture.warnings
    ]
    if found:
        lines.append(layout.t("warnings_see", section=layout.t("sec_environment")))
    return WrapParagraph(layout.safe("\n".join(layout.clip_list(lines))), layout.s.value)


def clock_cell(layout: Layout, capture: CaptureRecord) -> Flowable:
    """The clock check's result and source, always: an unchecked clock says so."""
    environment = capture.environment
    clock = next((c for c in environment.checks if c.name == CheckName.CLOCK.value), None)
    if environment.clock_offset_ms is not None:
        text = layout.t(
            "clock_offset_value",
            ms=f"{environment.clock_offset_ms:+d}",
            source=environment.clock_source or layout.t("unknown"),
        )
        if clock is not None and clock.status is not EnvironmentStatus.PASS:
            text += layout.t("clock_status_suffix", status=status_word(layout, clock))
    elif clock is not None:
        text = layout.t("clock_unchecked", detail=check_detail(layout, clock))
    else:
        text = layout.t("clock_not_recorded")
    return WrapParagraph(layout.safe(text), layout.s.value)


def outbound_cell(layout: Layout, capture: CaptureRecord) -> Flowable:
    """The exit address with who said it, or the local address labelled as what it is."""
    provenance = capture.provenance
    address = provenance.outbound_ip or layout.t("unknown")
    if provenance.outbound_ip_service:
        text = layout.t("outbound_public", ip=address, service=provenance.outbound_ip_service)
    else:
        text = layout.t("outbound_local", ip=address)
    return WrapParagraph(layout.safe(text), layout.s.value)
