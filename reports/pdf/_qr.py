"""The QR code a phone can scan: manifest digest, chain, contract and transaction."""

from __future__ import annotations

from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from evidence.model.records import ReportInput
from reports._flowables import QRFlowable, qr_matrix, qr_payload
from reports.pdf.layout import Layout
from reports.pdf.styles import FRAME_WIDTH

QR_SIZE = 124.0


def qr_section(layout: Layout, data: ReportInput) -> list[Flowable]:
    s = layout.s
    a = data.anchor
    payload = qr_payload(
        data.manifest_sha256,
        a.chain_id if a else None,
        a.contract_address if a else None,
        a.transaction_hash if a else None,
    )
    side = [
        layout.p(layout.t("qr_explain"), s.body),
        Spacer(1, 4),
        layout.p(layout.t("qr_payload"), s.label),
        layout.p(payload, s.mono),
    ]
    table = Table(
        [[QRFlowable(qr_matrix(payload), QR_SIZE), side]],
        colWidths=[QR_SIZE + 12, FRAME_WIDTH - QR_SIZE - 12],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), layout.fonts.regular),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
            ]
        )
    )
    return [KeepTogether([layout.heading("sec_qr"), table])]
