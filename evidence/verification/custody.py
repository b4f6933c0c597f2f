"""The custody-log extract: a hash chain of events, checked as ``docs/custody.md`` specifies,
and bound to the anchor through the custody head that is the last leaf of the item's tree."""

from __future__ import annotations

import hashlib
from typing import Any

from evidence.model.custody import chained_events
from evidence.model.errors import BundleError
from evidence.model.merkle import InclusionProof, root_from_proof
from evidence.model.records import CustodyAction, Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf


def check_custody(ctx: Context, out: Findings) -> None:
    name = bf.CUSTODY_LOG
    if name not in ctx.names:
        out.add(CheckId.CUSTODY_CHAIN, name, Verdict.NOT_CHECKED, Reason.of(C.CUSTODY_ABSENT))
        return
    data = ctx.read_small(name, out)
    if data is None:
        return  # unreadable or too large: already reported
    try:
        count = verify_custody_chain(data)
    except BundleError as exc:
        out.add(CheckId.CUSTODY_CHAIN, name, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message))
        return
    out.add(
        CheckId.CUSTODY_CHAIN,
        name,
        Verdict.PASS,
        Reason.of(C.CUSTODY_LINKED, n=count),
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
            Reason.of(C.CUSTODY_ABSENT_ANCHORED, anchor=bf.ANCHOR_JSON, seq=head.seq),
        )
        return
    data = ctx.read_small(name, out)
    if data is None:
        return  # unreadable or too large: already reported
    try:
        events = chained_events(data)
    except BundleError as exc:
        detail = Reason.of(C.CUSTODY_OWN_CHAIN, check=CheckId.CUSTODY_CHAIN, error=exc.message)
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
        out.add(
            CheckId.CUSTODY_ANCHOR, subject, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message)
        )
        return None
    if head is None:
        out.add(
            CheckId.CUSTODY_ANCHOR,
            subject,
            Verdict.NOT_CHECKED,
            Reason.of(C.CUSTODY_HEAD_NO_PROOF),
        )
        return None
    problem = _path_problem(head, anchor.tree_size, anchor.root)
    if problem is not None:
        out.add(CheckId.CUSTODY_ANCHOR, subject, Verdict.FAIL, problem)
        return None
    return head


def _path_problem(head: bf.CustodyAnchor, tree_size: int, root: str) -> Reason | None:
    last = tree_size - 1
    if head.leaf_index != last:
        return Reason.of(C.CUSTODY_HEAD_NOT_LAST, index=head.leaf_index, last=last, size=tree_size)
    proof = InclusionProof(last, tree_size, tuple(bytes.fromhex(h) for h in head.proof))
    try:
        computed = "0x" + root_from_proof(bytes.fromhex(head.event_hash), proof).hex()
    except ValueError as exc:
        return Reason.of(C.CUSTODY_PROOF_MALFORMED, error=exc)
    if computed != root.lower():
        return Reason.of(
            C.CUSTODY_PATH_WRONG_ROOT, head=head.event_hash, computed=computed, root=root
        )
    return None


def _head_problem(events: list[dict[str, Any]], head: bf.CustodyAnchor) -> Reason | None:
    """Why the extract is not the log whose head was anchored; None when it is."""
    found = next((e for e in events if e["seq"] == head.seq), None)
    if found is None:
        return Reason.of(
            C.CUSTODY_HEAD_MISSING,
            first=events[0]["seq"],
            last=events[-1]["seq"],
            seq=head.seq,
            anchor=bf.ANCHOR_JSON,
        )
    if found["event_hash"] != head.event_hash:
        return Reason.of(
            C.CUSTODY_HEAD_REWRITTEN,
            seq=head.seq,
            found=found["event_hash"],
            head=head.event_hash,
            anchor=bf.ANCHOR_JSON,
        )
    return None


def _item_problem(
    events: list[dict[str, Any]], head: bf.CustodyAnchor, item_id: str, manifest_sha256: str
) -> Reason | None:
    """Why the item's own events do not fit its anchoring; None when they do."""
    mine = [e for e in events if e.get("redacted") is not True and e.get("item_id") == item_id]
    seals = [e for e in mine if e.get("action") == CustodyAction.SEAL.value]
    if not seals:
        return Reason.of(C.CUSTODY_NO_SEAL, item=item_id)
    for seal in seals:
        if seal.get("hash_after") != manifest_sha256:
            return Reason.of(
                C.CUSTODY_SEAL_OTHER_MANIFEST,
                seq=seal["seq"],
                named=seal.get("hash_after"),
                sha256=manifest_sha256,
            )
    late = [e for e in mine if e.get("action") in _ANCHORED_ACTIONS and e["seq"] > head.seq]
    if late:
        named = ", ".join(f"{e['action']} seq {e['seq']}" for e in late)
        return Reason.of(C.CUSTODY_ITEM_AFTER_HEAD, named=named, seq=head.seq)
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
    anchored = Reason.of(
        C.CUSTODY_HEAD_ANCHORED,
        seq=head.seq,
        index=head.leaf_index,
        size=ctx.anchor.tree_size,
        root=ctx.anchor.root,
    )
    later = (Reason.of(C.CUSTODY_LATER_EVENTS, n=after, seq=head.seq),) if after else ()
    redacted = [
        e["seq"] for e in events if first < e["seq"] <= head.seq and e.get("redacted") is True
    ]
    if redacted:
        out.add(
            CheckId.CUSTODY_ANCHOR,
            bf.CUSTODY_LOG,
            Verdict.NOT_CHECKED,
            (
                anchored,
                Reason.of(C.CUSTODY_THROUGH_REDACTED, seqs=_seqs(redacted), last=redacted[-1]),
                *later,
            ),
        )
        return
    out.add(
        CheckId.CUSTODY_ANCHOR,
        bf.CUSTODY_LOG,
        Verdict.PASS,
        (anchored, Reason.of(C.CUSTODY_BOUND, first=first), *later),
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
