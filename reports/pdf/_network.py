"""What the browser talked to: DNS answers, each origin's TLS certificate, every request."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from evidence.model.capture_record import CaptureRecord, TlsOrigin
from evidence.model.records import isoformat
from reports.pdf.layout import Layout
from reports.pdf.styles import FRAME_WIDTH

MAX_EXCHANGES = 150
"""Rows of the request table; the WARC holds every exchange."""


def network_section(layout: Layout, capture: CaptureRecord) -> list[Flowable]:
    out: list[Flowable] = [
        layout.heading("sec_network"),
        layout.p(layout.t("net_intro"), layout.s.body),
    ]
    out += _subheading(layout, "dns_heading")
    out.append(_hosts(layout, capture))
    out.append(Spacer(1, 8))
    out += _subheading(layout, "tls_heading")
    if not capture.provenance.tls:
        out.append(layout.p(layout.t("net_none"), layout.s.value))
    out += [_tls_origin(layout, origin) for origin in capture.provenance.tls]
    out.append(Spacer(1, 8))
    out += _subheading(layout, "exchanges_heading")
    out += _exchanges(layout, capture)
    return out


def _subheading(layout: Layout, key: str) -> list[Flowable]:
    return [Paragraph(escape(layout.t(key)), layout.s.label), Spacer(1, 2)]


def _hosts(layout: Layout, capture: CaptureRecord) -> Flowable:
    s = layout.s
    hosts = capture.provenance.hosts
    if not hosts:
        return layout.p(layout.t("net_none"), s.value)
    rows = [
        [
            layout.p(
                h.host if h.host == h.unicode_host else f"{h.unicode_host} ({h.host})", s.mono
            ),
            layout.lines(list(h.addresses) or [h.error or layout.t("net_none")], s.mono),
        ]
        for h in hosts[:MAX_EXCHANGES]
    ]
    return layout.grid_table(("col_host", "col_addresses"), rows, [200.0, FRAME_WIDTH - 200.0])


def _tls_origin(layout: Layout, origin: TlsOrigin) -> Flowable:
    s, t = layout.s, layout.t
    validity = t(
        "tls_validity_value",
        a=isoformat(origin.not_before) if origin.not_before else t("unknown"),
        b=isoformat(origin.not_after) if origin.not_after else t("unknown"),
    )
    verdict = (
        t("tls_ok")
        if origin.certificate_error is None
        else t("tls_error", e=origin.certificate_error)
    )
    table = layout.kv_table(
        [
            (origin.origin, layout.p(verdict, s.value)),
            (t("tls_subject"), layout.p(origin.subject, s.mono)),
            (t("tls_issuer"), layout.p(origin.issuer, s.mono)),
            (t("tls_validity"), layout.p(validity, s.mono)),
            (t("tls_protocol"), layout.p(f"{origin.protocol} / {origin.cipher}", s.mono)),
            (t("tls_san"), layout.p(layout.clip(", ".join(origin.subject_alt_names)), s.mono)),
            (t("tls_chain"), layout.lines(list(origin.chain_sha256), s.hash)),
        ]
    )
    return KeepTogether([table, Spacer(1, 6)])


def _exchanges(layout: Layout, capture: CaptureRecord) -> list[Flowable]:
    s = layout.s
    if not capture.exchanges:
        return [layout.p(layout.t("net_none"), s.value)]
    rows = [
        [
            layout.p(str(i), s.cell),
            layout.p(e.method, s.mono),
            layout.p(str(e.status), s.mono),
            layout.p(e.server_ip or "—", s.mono),
            layout.p(layout.clip(e.url, 300), s.hash),
        ]
        for i, e in enumerate(capture.exchanges[:MAX_EXCHANGES], start=1)
    ]
    widths = [26.0, 40.0, 36.0, 90.0]
    widths.append(FRAME_WIDTH - sum(widths))
    head = ("col_no", "col_method", "col_status", "col_ip", "col_url")
    out: list[Flowable] = [layout.grid_table(head, rows, widths)]
    if len(capture.exchanges) > MAX_EXCHANGES:
        more = layout.t("more_items", n=len(capture.exchanges) - MAX_EXCHANGES)
        out.append(layout.p(more, s.caption))
    return out
