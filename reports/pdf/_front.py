"""The first page: the report's particulars and the capture summary."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, Paragraph

from evidence.model.capture_record import CaptureRecord
from evidence.model.i18n import N_
from evidence.model.records import ReportInput
from reports._i18n import translate
from reports.pdf._environment import clock_cell, outbound_cell, warnings_cell
from reports.pdf._screenshots import video_row
from reports.pdf.layout import MAX_URL_CHARS, Layout, tool_name

Rows = list[tuple[str, Flowable]]


# How the case record names an officer put on the case (evidence.services.officers):
# the words are the toolkit's, so the report says them in its own language.
_CASE_OFFICER = re.compile(r"(?P<name>.+?) \(执法证号 (?P<eid>[^()]+)\)")


def officer_text(layout: Layout, line: str) -> str:
    """One line of the case's officer list in the report's language; a line in another
    form (typed by hand, from another version) is shown as stored."""
    found = _CASE_OFFICER.fullmatch(line.strip())
    if found is None:
        return line
    return translate(
        layout.lang, _CIRCUMSTANCE_TEXT["acting_officer_no_agency"], **found.groupdict()
    )


def officers_text(layout: Layout, officers: tuple[str, ...]) -> str:
    return layout.t("list_sep").join(officer_text(layout, o) for o in officers)


def front_matter(layout: Layout, data: ReportInput) -> list[Flowable]:
    """The title and the table of report number, case, agency, officers and tool."""
    s, t = layout.s, layout.t
    rows: Rows = [
        (t("report_number"), layout.p(data.report_number, s.value)),
        (t("generated_at"), layout.time_cell(data.generated_at)),
        (t("case_number"), layout.p(data.case_number, s.value)),
        (t("case_title"), layout.p(data.case_title, s.value)),
        (t("case_cause"), layout.p(data.case_cause, s.value)),
        (t("agency"), layout.p(data.agency, s.value)),
        (t("officers"), layout.p(officers_text(layout, data.officers) or t("none"), s.value)),
        *_circumstance_rows(layout, data),
        (t("item_id"), layout.p(data.item_id, s.mono)),
        (t("tool_version"), layout.p(tool_name(data.tool_version), s.value)),
    ]
    if data.notes:
        rows.append((t("notes"), layout.lines(layout.clip_list(data.notes), s.value)))
    return [Paragraph(escape(t("title")), s.title), layout.kv_table(rows)]


# Labels of who, where and why (this module's own table, as _screenshots.py keeps its own).
_CIRCUMSTANCE_TEXT: dict[str, str] = {
    "acting_officer": N_("Capturing officer"),
    "acting_officer_value": N_("{name} (enforcement ID {eid}), {agency}"),
    "acting_officer_no_agency": N_("{name} (enforcement ID {eid})"),
    "officer_certificate": N_("Certificate SHA-256: {fingerprint}"),
    "officer_no_certificate": N_("No certificate yet (certificate request with the agency CA)"),
    "not_recorded": N_("Not recorded (sealed before captures named their officer)"),
    "place": N_("Place of capture"),
    "purpose": N_("Purpose of capture"),
    "not_stated": N_("Not stated"),
    # The device presets officers type (capture.DEVICE_PRESETS); any other name is a
    # Playwright device name, a product name printed as recorded.
    "device_desktop": N_("Desktop browser window"),
    "device_desktop-1280": N_("Desktop browser window, 1280 px wide"),
}


def _device_name(layout: Layout, device: str) -> str:
    key = f"device_{device}"
    if key in _CIRCUMSTANCE_TEXT:
        return translate(layout.lang, _CIRCUMSTANCE_TEXT[key])
    return device


def _circumstance_rows(layout: Layout, data: ReportInput) -> Rows:
    """Who captured (with the certificate an expert compares), where and why."""
    s = layout.s

    def text(key: str, **values: object) -> str:
        return translate(layout.lang, _CIRCUMSTANCE_TEXT[key], **values)

    officer = data.acting_officer
    if officer is None:
        who: Flowable = layout.p(text("not_recorded"), s.value)
    else:
        key = "acting_officer_value" if officer.agency else "acting_officer_no_agency"
        name = text(key, name=officer.name, eid=officer.enforcement_id, agency=officer.agency)
        certificate = (
            text("officer_certificate", fingerprint=officer.certificate_sha256)
            if officer.certificate_sha256
            else text("officer_no_certificate")
        )
        who = layout.lines([name, certificate], s.value)
    return [
        (text("acting_officer"), who),
        (text("place"), layout.p(layout.clip(data.place) or text("not_stated"), s.value)),
        (text("purpose"), layout.p(layout.clip(data.purpose) or text("not_stated"), s.value)),
    ]


def capture_summary(layout: Layout, capture: CaptureRecord) -> list[Flowable]:
    """What was asked for, what was reached, when, and with which browser."""
    heading = layout.heading("sec_capture")
    rows = _page_rows(layout, capture) + _capture_context_rows(layout, capture)
    return [heading, layout.kv_table(rows)]


def _page_rows(layout: Layout, c: CaptureRecord) -> Rows:
    s, t = layout.s, layout.t
    unknown = t("unknown")
    page, provenance, viewport = c.page, c.provenance, c.rendering.viewport
    redirects: Flowable = (
        layout.lines(
            layout.clip_list(
                [f"{i}. {url}" for i, url in enumerate(page.redirect_chain, 1)], MAX_URL_CHARS
            ),
            s.mono,
        )
        if page.redirect_chain
        else layout.p(t("no_redirects"), s.value)
    )
    # One source with the environment section: its checks and the capture's warnings.
    warnings = warnings_cell(layout, c)
    status = str(page.http_status) if page.http_status is not None else unknown
    return [
        (t("requested_url"), layout.p(layout.clip(page.requested_url, MAX_URL_CHARS), s.mono)),
        (t("final_url"), layout.p(layout.clip(page.final_url, MAX_URL_CHARS), s.mono)),
        (t("redirect_chain"), redirects),
        (t("capture_start"), layout.time_cell(page.started_at)),
        (t("capture_end"), layout.time_cell(page.finished_at)),
        (t("page_title"), layout.p(layout.clip(page.title) or unknown, s.value)),
        (t("http_status"), layout.p(status, s.value)),
        (t("server_ip"), layout.p(page.server_ip or unknown, s.mono)),
        (t("browser_version"), layout.p(provenance.browser_version or unknown, s.value)),
        (t("user_agent"), layout.p(layout.clip(provenance.user_agent) or unknown, s.mono)),
        (t("viewport"), layout.p(t("viewport_value", w=viewport[0], h=viewport[1]), s.value)),
        (t("warnings"), warnings),
    ]


def _capture_context_rows(layout: Layout, c: CaptureRecord) -> Rows:
    """Rows only some captures have: device, host, clock check, navigation steps."""
    s, t = layout.s, layout.t
    rows: Rows = []
    if c.rendering.device:
        rows.append((t("device"), layout.p(_device_name(layout, c.rendering.device), s.value)))
    if c.provenance.capture_host:
        rows.append((t("capture_host"), layout.p(c.provenance.capture_host, s.mono)))
    if c.provenance.outbound_ip:
        rows.append((t("outbound_ip"), outbound_cell(layout, c)))
    # Always shown: a clock that could not be checked says so here too.
    rows.append((t("clock_offset"), clock_cell(layout, c)))
    video = video_row(layout, c)
    if video is not None:
        rows.append(video)
    if c.interaction.steps:
        steps = [
            f"{step.index}. {step.description} — {step.outcome}" for step in c.interaction.steps
        ]
        rows.append((t("steps"), layout.lines(layout.clip_list(steps), s.value)))
    return rows
