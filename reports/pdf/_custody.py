"""The chain of custody: who did what to the item, when, and the log hash after it."""

from __future__ import annotations

from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from evidence.model.i18n import N_
from evidence.model.records import CustodyAction, CustodyLine, SignatureInfo
from reports._i18n import translate
from reports.pdf.layout import Layout
from reports.pdf.styles import BEIJING, FRAME_WIDTH, GRID

# This module's own labels (the signature record), as _screenshots.py keeps its own.
_SIGNATURE_TEXT: dict[str, str] = {
    "signatures_title": N_("Officers' signatures over the manifest, each with its time"),
    "no_signatures": N_("No officer has signed the manifest yet"),
    "col_role": N_("Role"),
    "col_officer": N_("Officer"),
    "col_signed_at": N_("Signed at"),
    "role_capture": N_("Capture signature"),
    "role_cosign": N_("Co-signature"),
    "signature_certificate": N_("Certificate SHA-256: {fingerprint}"),
    "signature_issuer": N_("Certificate issuer: {issuer}"),
    "system_actor": N_("system ({host})"),
}

# What each action is called in the report; the log in the bundle keeps the stored code.
_ACTION_TEXT: dict[CustodyAction, str] = {
    CustodyAction.CASE_CREATE: N_("Case created"),
    CustodyAction.CAPTURE_START: N_("Capture started"),
    CustodyAction.CAPTURE_FAIL: N_("Capture failed"),
    CustodyAction.SEAL: N_("Sealed"),
    CustodyAction.TIMESTAMP: N_("Time-stamped"),
    CustodyAction.ANCHOR: N_("Anchored on the chain"),
    CustodyAction.SIGN: N_("Signed"),
    CustodyAction.REPORT: N_("Report made"),
    CustodyAction.EXPORT: N_("Exported"),
    CustodyAction.EXPORT_WACZ: N_("Exported as WACZ"),
    CustodyAction.VIEW: N_("Viewed"),
    CustodyAction.VERIFY: N_("Verified"),
    CustodyAction.DOCTOR_MARK_FAILED: N_("Interrupted capture closed as failed"),
    CustodyAction.JOB_SUBMIT: N_("Job submitted"),
    CustodyAction.JOB_CANCEL: N_("Job cancelled"),
    CustodyAction.ACCESS: N_("Read through the service"),
    CustodyAction.AUTH_LOGIN: N_("Logged in"),
    CustodyAction.AUTH_TOKEN: N_("API token issued or revoked"),
    CustodyAction.USER_CHANGE: N_("User changed"),
}


def action_label(language: str, action: str) -> str:
    """The action in the report's language; a code this version does not know, as stored."""
    try:
        known = CustodyAction(action)
    except ValueError:
        return action
    return translate(language, _ACTION_TEXT[known])


SYSTEM_ACTOR_PREFIX = "system:"
"""As evidence.services._context records an action no person answers for (a stage
cannot import the facade); the stored actor stays ``system:<host>``."""


def _actor(layout: Layout, actor: str) -> str:
    if actor.startswith(SYSTEM_ACTOR_PREFIX):
        host = actor.removeprefix(SYSTEM_ACTOR_PREFIX)
        return translate(layout.lang, _SIGNATURE_TEXT["system_actor"], host=host)
    return actor


def custody_section(
    layout: Layout,
    lines: tuple[CustodyLine, ...],
    signatures: tuple[SignatureInfo, ...] = (),
) -> list[Flowable]:
    out: list[Flowable] = [layout.heading("sec_custody")]
    # Who signed, and when each signed: two officers are two people at two moments.
    out += _signature_record(layout, signatures)
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
            layout.p(layout.clip(_actor(layout, line.actor)), s.cell),
            layout.p(layout.clip(action_label(layout.lang, line.action)), s.cell),
            layout.p(layout.clip(line.reason), s.cell),
        ],
        ["", layout.p(f"{layout.t('custody_hash')} {line.hash_after or '—'}", s.hash), "", "", ""],
    ]


def _certificate_forms(signature: SignatureInfo) -> tuple[str, str]:
    """The signer certificate's SHA-256 fingerprint and issuer as ``openssl x509 -noout
    -fingerprint -sha256`` and ``-issuer -nameopt oneline,-esc_msb`` print them: the forms
    of the agency's published list, so an expert compares them character by character."""
    from cryptography import x509

    from evidence.model.certificate_chain import openssl_fingerprint, openssl_issuer

    certificate = x509.load_pem_x509_certificate(signature.certificate_pem)
    return openssl_fingerprint(certificate), openssl_issuer(certificate)


def _signature_record(layout: Layout, signatures: tuple[SignatureInfo, ...]) -> list[Flowable]:
    s = layout.s

    def text(key: str, **values: object) -> str:
        return translate(layout.lang, _SIGNATURE_TEXT[key], **values)

    out: list[Flowable] = [layout.p(text("signatures_title"), s.value)]
    if not signatures:
        out.append(layout.p(text("no_signatures"), s.value))
        return out
    widths = [26.0, 80.0, 130.0]
    widths.append(FRAME_WIDTH - sum(widths))
    head = [layout.p(v, s.cell) for v in ("#", text("col_role"), text("col_officer"))]
    cells: list[list[Any]] = [[*head, layout.p(text("col_signed_at"), s.cell)]]
    style = [entry for entry in layout.grid_style() if entry[0] != "GRID"]
    style.append(("BOX", (0, 0), (-1, -1), 0.6, GRID))
    # A fingerprint must read as one unbroken line (it is compared character by
    # character with the agency's list): the label and 95 characters fit at 6.3 pt.
    fingerprint_style = ParagraphStyle("fingerprint", parent=s.hash, fontSize=6.3, leading=9)
    for row_index, signature in enumerate(signatures):
        main = 1 + 2 * row_index
        local = signature.signed_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +08:00")
        role = text("role_capture" if signature.role == "capture" else "role_cosign")
        officer = f"{signature.officer_name}（{signature.enforcement_id}）"
        fingerprint, issuer = _certificate_forms(signature)
        certificate = layout.lines(
            (
                text("signature_certificate", fingerprint=fingerprint),
                layout.clip(text("signature_issuer", issuer=issuer)),
            ),
            fingerprint_style,
        )
        cells += [
            [
                layout.p(str(signature.index), s.cell),
                layout.p(role, s.cell),
                layout.p(layout.clip(officer), s.cell),
                layout.p(local, s.cell),
            ],
            ["", certificate, "", ""],
        ]
        style += [
            ("SPAN", (1, main + 1), (-1, main + 1)),
            ("NOSPLIT", (0, main), (-1, main + 1)),
            ("LINEABOVE", (0, main), (-1, main), 0.6, GRID),
            ("TOPPADDING", (0, main + 1), (-1, main + 1), 0),
        ]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return [*out, table, Spacer(1, 6)]
