"""The RFC 3161 time-stamp over the manifest: TSA, serial, genTime, policy, imprint."""

from __future__ import annotations

from reportlab.platypus import Flowable, KeepTogether

from evidence.model.records import TimestampToken
from reports.pdf.layout import Layout


def timestamp_section(layout: Layout, token: TimestampToken | None) -> list[Flowable]:
    s, t = layout.s, layout.t
    out: list[Flowable] = [layout.heading("sec_timestamp")]
    if token is None:
        out.append(layout.pending_box("ts_missing"))
        return out
    if token.development:
        out += layout.warning_box("ts_dev_warning")
    serial = f"{token.serial_number} (0x{token.serial_number:x})"
    rows: list[tuple[str, Flowable]] = [
        (t("tsa_url"), layout.p(layout.clip(token.tsa_url), s.mono)),
        (t("tsa_subject"), layout.p(layout.clip(token.tsa_subject), s.value)),
        (t("serial"), layout.p(serial, s.mono)),
        (t("gen_time"), layout.time_cell(token.gen_time)),
        (t("policy"), layout.p(token.policy_oid, s.mono)),
        (t("hash_algorithm"), layout.p(token.hash_algorithm, s.value)),
        (t("message_imprint"), layout.p(token.message_imprint, s.mono)),
    ]
    if token.nonce is not None:
        rows.append((t("nonce"), layout.p(str(token.nonce), s.mono)))
    out.append(layout.kv_table(rows))
    # A warning box stranded at a page foot, away from the values it
    # qualifies, could be overlooked.
    return [KeepTogether(out)]
