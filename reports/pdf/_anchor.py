"""The blockchain anchor: transaction, block, confirmations and the Merkle path to the root."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from evidence.model.i18n import N_
from evidence.model.records import AnchorCheck, AnchorReceipt, TrustStanding
from reports._i18n import translate
from reports._standing import anchor_note, anchor_title
from reports.pdf.layout import Layout

Rows = list[tuple[str, Flowable]]

# The name anchoring.anvil records for the local node (a stage cannot import another):
# said in the report's language; any other network's name is shown as configured.
_LOCAL_ANVIL = re.compile(r"local anvil \(development, chain id (\d+)\)")
_LOCAL_ANVIL_TEXT = N_("Local anvil node (development chain, chain ID {chain_id})")


def network_label(language: str, network_name: str) -> str:
    local = _LOCAL_ANVIL.fullmatch(network_name)
    if local is None:
        return network_name
    return translate(language, _LOCAL_ANVIL_TEXT, chain_id=local.group(1))


def anchor_section(
    layout: Layout,
    anchor: AnchorReceipt | None,
    *,
    manifest_sha256: str,
    check: AnchorCheck | None,
    standing: TrustStanding = TrustStanding.UNTRUSTED,
) -> list[Flowable]:
    """``check`` is the chain's view when the report was made (None: not queried);
    ``standing`` (the facade's trust decision on the chain and registry) titles it."""
    out: list[Flowable] = [layout.heading("sec_anchor", anchor_title(layout.lang, standing))]
    if anchor is None:
        out.append(layout.pending_box("anchor_missing"))
        return out
    if anchor.development or standing is TrustStanding.DEVELOPMENT:
        out += layout.warning_box("anchor_dev_warning")
    note = anchor_note(layout.lang, standing)
    if note is not None:
        out += [layout.pending_note(note), Spacer(1, 6)]
    rows = _transaction_rows(layout, anchor, manifest_sha256)
    rows.append((layout.t("confirmations"), _confirmations(layout, check)))
    if anchor.leaf:
        rows += _merkle_rows(layout, anchor)
    out.append(layout.kv_table(rows))
    return [KeepTogether(out)]


def same_hex(prefixed: str, plain: str) -> bool:
    """Whether two hex strings name the same bytes, with or without ``0x``."""
    return prefixed.lower().removeprefix("0x") == plain.lower().removeprefix("0x")


def _transaction_rows(layout: Layout, anchor: AnchorReceipt, manifest_sha256: str) -> Rows:
    s, t = layout.s, layout.t
    root_note = "root_is_manifest" if same_hex(anchor.root, manifest_sha256) else "root_differs"
    root = Paragraph(
        f'<font name="{layout.fonts.mono}" size="7.8">{escape(anchor.root)}</font>'
        f"<br/>{escape(t(root_note))}",
        s.value,
    )
    rows: Rows = [
        (t("network"), layout.p(network_label(layout.lang, anchor.network_name), s.value)),
        (t("chain_id"), layout.p(str(anchor.chain_id), s.mono)),
        (t("contract"), layout.p(anchor.contract_address, s.mono)),
        (t("tx_hash"), layout.p(anchor.transaction_hash, s.mono)),
        (t("block_number"), layout.p(str(anchor.block_number), s.mono)),
        (t("block_hash"), layout.p(anchor.block_hash, s.mono)),
        (t("block_time"), layout.time_cell(anchor.block_time)),
        (t("root"), root),
        (t("submitter"), layout.p(anchor.submitter, s.mono)),
    ]
    if anchor.reference:
        rows.append((t("reference"), layout.p(anchor.reference, s.mono)))
    return rows


def _confirmations(layout: Layout, check: AnchorCheck | None) -> Flowable:
    value = (
        layout.t("confirmations_value", n=check.confirmations)
        if check is not None
        else layout.t("confirmations_unknown")
    )
    return layout.p(value, layout.s.value)


def _merkle_rows(layout: Layout, anchor: AnchorReceipt) -> Rows:
    s, t = layout.s, layout.t
    position = t("merkle_position_value", i=anchor.leaf_index, n=anchor.tree_size)
    proof = (
        layout.lines([f"{i}. {h}" for i, h in enumerate(anchor.proof, start=1)], s.hash)
        if anchor.proof
        else layout.p(t("merkle_proof_empty"), s.value)
    )
    return [
        (t("merkle_leaf"), layout.p(anchor.leaf, s.mono)),
        (t("merkle_position"), layout.p(position, s.value)),
        (t("merkle_proof"), proof),
        (t("merkle_root"), layout.p(anchor.root, s.mono)),
    ]
