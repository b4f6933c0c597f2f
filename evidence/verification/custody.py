"""The custody-log extract: a hash chain of events, checked as ``docs/custody.md`` specifies."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from evidence.model import safe_json
from evidence.model.errors import BundleError
from evidence.model.manifest import canonical_json
from evidence.model.records import Verdict
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

_HEX64 = re.compile(r"[0-9a-f]{64}")
_REDACTED_KEYS = {"event_hash", "prev_hash", "redacted", "seq"}


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
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"not UTF-8 ({exc})") from exc
    previous: tuple[str, int] | None = None
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        event = _event(number, line)
        event_hash, prev_hash, seq = event["event_hash"], event["prev_hash"], event["seq"]
        label = f"line {number} (seq {seq})"
        if previous is not None and prev_hash != previous[0]:
            raise BundleError(
                f"{label}: prev_hash {prev_hash} is not the previous event_hash {previous[0]} "
                "(an event was removed, inserted or reordered)"
            )
        if previous is not None and seq != previous[1] + 1:
            raise BundleError(f"{label}: seq follows {previous[1]} (gap or reordering)")
        _check_event_hash(label, event)
        previous = (event_hash, seq)
        count += 1
    if count == 0:
        raise BundleError("the extract holds no events")
    return count


def _event(number: int, line: str) -> dict[str, Any]:
    """One line as a JSON object whose hashes and seq are well formed."""
    if not line.strip():
        raise BundleError(f"line {number} is empty")
    event = safe_json.loads(line, f"line {number}")
    if not isinstance(event, dict):
        raise BundleError(f"line {number} is not a JSON object")
    for key in ("event_hash", "prev_hash"):
        value = event.get(key)
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise BundleError(f"line {number}: {key} is missing or not 64 hex digits")
    seq = event.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise BundleError(f"line {number}: seq is missing or not an integer")
    return event


def _check_event_hash(label: str, event: dict[str, Any]) -> None:
    if event.get("redacted") is True:
        if set(event) - _REDACTED_KEYS:
            raise BundleError(f"{label}: a redacted event may hold only its hashes and seq")
        return
    body = {k: v for k, v in event.items() if k != "event_hash"}
    recomputed = hashlib.sha256(canonical_json(body)).hexdigest()
    if recomputed != event["event_hash"]:
        raise BundleError(
            f"{label}: event_hash {event['event_hash']} differs from the recomputed {recomputed} "
            f"(the {event.get('action', '?')!s} event was edited)"
        )


CUSTODY = Check(
    CheckId.CUSTODY_CHAIN, check_custody, bf.CUSTODY_LOG, needs=frozenset({Fact.DIGESTS})
)
