"""The custody-log extract: a hash chain of events, checked as ``docs/custody.md`` specifies,
and bound to the anchor through the custody head that is the last leaf of the item's tree."""

from __future__ import annotations

import hashlib
from typing import Any

from evidence.model.custody import chained_events
from evidence.model.errors import BundleError
from evidence.model.merkle import InclusionProof, root_from_proof
from evidence.model.records import CustodyAction, Verdict
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf


def check_custody(ctx: Context, out: Findings) -> None:
    name = bf.CUSTODY_LOG
    if name not in ctx.names:
        out.add(
            CheckId.CUSTODY_CHAIN, name, Verdict.NOT_CHECKED, "no custody-log extract in bundle"
        )
        return
    data = ctx.read_small(name, out)
    if data is None:
        return  # unreadable or too large: already reported
    try:
        count = verify_custody_chain(data)
    except BundleError as exc:
        out.add(CheckId.CUSTODY_CHAIN, name, Verdict.FAIL, exc.message)
        return
    out.add(
        CheckId.CUSTODY_CHAIN,
        name,
        Verdict.PASS,
        f"{count} events: every event_hash recomputed, every prev_hash and seq linked",
    )


def verify_custody_chain(data: bytes) -> int:
    """Check a custody-log extract; the number of events. Raises :class:`BundleError`."""
    return len(chained_events(data))


# --- the custody head in the anchored tree -------------------------------------

_ANCHORED_ACTIONS = (CustodyAction.SEAL.value, CustodyAction.TIMESTAMP.value)
"""The item's events that precede its anchoring, so must lie at or before the head."""


def check_custody_anchor(ctx: Context, out: Findings) -> None:
    """The anchored custody head is in the extract, and the item's events are bound to it."""
    head = _anchored_head(ctx, out)
    if head is None:
        return
    name = bf.CUSTODY_LOG
    if name not in ctx.names:
        out.add(
            CheckId.CUSTODY_ANCHOR,
            name,
            Verdict.NOT_CHECKED,
            f"no custody-log extract in bundle, although {bf.ANCHOR_JSON} anchors custody "
            f"event seq {head.seq}",
        )
        return
    data = ctx.read_small(name, out)
    if data is None:
        return  # unreadable or too large: already reported
    try:
        events = chained_events(data)
    except BundleError as exc:
        detail = f"the extract's own chain does not hold ({CheckId.CUSTODY_CHAIN}): {exc.message}"
        out.add(CheckId.CUSTODY_ANCHOR, name, Verdict.NOT_CHECKED, detail)
        return
    manifest_sha256 = hashlib.sha256(ctx.manifest_bytes).hexdigest()
    problem = _head_problem(events, head) or _item_problem(
        events, head, ctx.manifest.item_id, manifest_sha256
    )
    if problem is not None:
        out.add(CheckId.CUSTODY_ANCHOR, name, Verdict.FAIL, problem)
        return
    _report_binding(ctx, out, events, head)


def _anchored_head(ctx: Context, out: Findings) -> bf.CustodyAnchor | None:
    """The custody head ``anchor.json`` records, once its path reaches the anchored root."""
    anchor = ctx.anchor
    subject = f"{bf.ANCHOR_JSON}: custody"
    data = ctx.read_small(bf.ANCHOR_JSON, out)
    if data is None:
        return None  # unreadable: already reported
    try:
        head = bf.custody_anchor_from_json(data)
    except BundleError as exc:
        out.add(CheckId.CUSTODY_ANCHOR, subject, Verdict.FAIL, exc.message)
        return None
    if head is None:
        out.add(
            CheckId.CUSTODY_ANCHOR,
            subject,
            Verdict.NOT_CHECKED,
            "the anchor record carries no proof for the custody log's head (a bundle "
            "written before these proofs were exported, or a batch whose tree could not "
            "be rebuilt): the custody extract is checked only against itself",
        )
        return None
    problem = _path_problem(head, anchor.tree_size, anchor.root)
    if problem is not None:
        out.add(CheckId.CUSTODY_ANCHOR, subject, Verdict.FAIL, problem)
        return None
    return head


def _path_problem(head: bf.CustodyAnchor, tree_size: int, root: str) -> str | None:
    last = tree_size - 1
    if head.leaf_index != last:
        return (
            f"the custody head is recorded as leaf {head.leaf_index}, but every batch puts "
            f"it last: leaf {last} of the anchored tree of {tree_size}"
        )
    proof = InclusionProof(last, tree_size, tuple(bytes.fromhex(h) for h in head.proof))
    try:
        computed = "0x" + root_from_proof(bytes.fromhex(head.event_hash), proof).hex()
    except ValueError as exc:
        return f"the custody head's Merkle proof is malformed: {exc}"
    if computed != root.lower():
        return (
            f"the Merkle path from the custody head {head.event_hash} leads to {computed}, "
            f"not to the anchored root {root}"
        )
    return None


def _head_problem(events: list[dict[str, Any]], head: bf.CustodyAnchor) -> str | None:
    """Why the extract is not the log whose head was anchored; None when it is."""
    found = next((e for e in events if e["seq"] == head.seq), None)
    if found is None:
        return (
            f"the extract (seq {events[0]['seq']} to {events[-1]['seq']}) has no event "
            f"seq {head.seq}, the custody head anchored with this item ({bf.ANCHOR_JSON})"
        )
    if found["event_hash"] != head.event_hash:
        return (
            f"event seq {head.seq} has event_hash {found['event_hash']}, but the anchored "
            f"custody head is {head.event_hash} ({bf.ANCHOR_JSON}): the extract is not the "
            "log that was anchored (events rewritten and the chain rehashed)"
        )
    return None


def _item_problem(
    events: list[dict[str, Any]], head: bf.CustodyAnchor, item_id: str, manifest_sha256: str
) -> str | None:
    """Why the item's own events do not fit its anchoring; None when they do."""
    mine = [e for e in events if e.get("redacted") is not True and e.get("item_id") == item_id]
    seals = [e for e in mine if e.get("action") == CustodyAction.SEAL.value]
    if not seals:
        return f"the extract holds no seal event of item {item_id}"
    for seal in seals:
        if seal.get("hash_after") != manifest_sha256:
            return (
                f"the seal event seq {seal['seq']} names manifest {seal.get('hash_after')!s}, "
                f"not this bundle's {manifest_sha256}"
            )
    late = [e for e in mine if e.get("action") in _ANCHORED_ACTIONS and e["seq"] > head.seq]
    if late:
        named = ", ".join(f"{e['action']} seq {e['seq']}" for e in late)
        return (
            f"the item's {named} come after the anchored custody head seq {head.seq}, "
            "although an item is anchored only after it is sealed and timestamped"
        )
    return None


def _report_binding(
    ctx: Context, out: Findings, events: list[dict[str, Any]], head: bf.CustodyAnchor
) -> None:
    """PASS when every event from the extract's start to the head is bound to the leaf.

    A redacted line's ``prev_hash`` is outside what its ``event_hash`` can be
    checked against, so the events before it are not bound through it.
    """
    first = events[0]["seq"]
    after = sum(1 for e in events if e["seq"] > head.seq)
    anchored = (
        f"event seq {head.seq} is the custody head anchored as leaf {head.leaf_index} of "
        f"{ctx.anchor.tree_size} under root {ctx.anchor.root}"
    )
    later = f"; {after} later event(s) not yet anchored (after seq {head.seq})" if after else ""
    redacted = [
        e["seq"] for e in events if first < e["seq"] <= head.seq and e.get("redacted") is True
    ]
    if redacted:
        out.add(
            CheckId.CUSTODY_ANCHOR,
            bf.CUSTODY_LOG,
            Verdict.NOT_CHECKED,
            f"{anchored}, but the item's events reach it only through redacted event(s) "
            f"seq {_seqs(redacted)}, whose links an extract cannot prove: events before "
            f"seq {redacted[-1]} are not fixed by the anchor{later}",
        )
        return
    out.add(
        CheckId.CUSTODY_ANCHOR,
        bf.CUSTODY_LOG,
        Verdict.PASS,
        f"{anchored}; every event from seq {first} to it, the item's seal and timestamp "
        f"among them, is bound to that leaf{later}",
    )


def _seqs(seqs: list[int]) -> str:
    shown = ", ".join(str(s) for s in seqs[:5])
    return shown + (f" and {len(seqs) - 5} more" if len(seqs) > 5 else "")


CUSTODY = Check(
    CheckId.CUSTODY_CHAIN, check_custody, bf.CUSTODY_LOG, needs=frozenset({Fact.DIGESTS})
)
ANCHORED = Check(
    CheckId.CUSTODY_ANCHOR,
    check_custody_anchor,
    bf.CUSTODY_LOG,
    needs=frozenset({Fact.DIGESTS, Fact.MANIFEST_BYTES, Fact.MANIFEST, Fact.ANCHOR}),
)
