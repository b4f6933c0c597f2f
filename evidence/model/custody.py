"""The append-only, hash-chained custody log (see ``docs/custody.md``).

Events are appended inside the caller's database transaction, next to the
state change they record, so the log and the evidence can never disagree.
Appends are serialised: SQLite writers already hold the database lock from
the start of their transaction (``BEGIN IMMEDIATE``, see :mod:`evidence.model.db`);
on PostgreSQL a transaction-scoped advisory lock orders appenders.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from evidence.model import safe_json
from evidence.model.errors import BundleError
from evidence.model.manifest import canonical_json
from evidence.model.records import CustodyAction, IdFactory, isoformat
from evidence.model.tables import CustodyEvent

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x45564944  # "EVID": one advisory lock for the custody chain
_HEX64 = re.compile(r"[0-9a-f]{64}")
_REDACTED_KEYS = {"event_hash", "prev_hash", "redacted", "seq"}
"""All a redacted line of an extract may hold: the chain is followed without its content."""


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container
        return "unknown"


def host_name() -> str:
    import socket

    return socket.gethostname() or "unknown"


def operating_account() -> str:
    """``user@host`` of the operating-system account running the toolkit."""
    return f"{default_actor()}@{host_name()}"


def event_body(event: CustodyEvent) -> dict[str, Any]:
    """The hashed fields of an event, in their JSON form."""
    return {
        "seq": event.seq,
        "id": event.id,
        "at": isoformat(_aware(event.at)),
        "actor": event.actor,
        "action": event.action,
        "item_id": event.item_id or "",
        "case_id": event.case_id or "",
        "reason": event.reason,
        "hash_before": event.hash_before,
        "hash_after": event.hash_after,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }


def hash_body(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _aware(moment: datetime) -> datetime:
    from evidence.model.db import as_utc

    return as_utc(moment)


def append(
    session: Session,
    *,
    at: datetime,
    new_id: IdFactory,
    actor: str,
    action: CustodyAction,
    item_id: str | None = None,
    case_id: str | None = None,
    reason: str = "",
    hash_before: str = "",
    hash_after: str = "",
    details: dict[str, Any] | None = None,
) -> CustodyEvent:
    """Add the next event to the chain in ``session`` (the caller commits)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = session.exec(select(CustodyEvent).order_by(col(CustodyEvent.seq).desc())).first()
    event = CustodyEvent(
        seq=(last.seq + 1) if last else 1,
        id=new_id(),
        at=at,
        actor=actor,
        # Through the enum: a caller's plain string is checked, and the log holds the value.
        action=CustodyAction(action).value,
        item_id=item_id,
        case_id=case_id,
        reason=reason,
        hash_before=hash_before,
        hash_after=hash_after,
        details=canonical_json(details or {}).decode("utf-8"),
        prev_hash=last.event_hash if last else GENESIS,
        event_hash="",
    )
    event.event_hash = hash_body(event_body(event))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append with :func:`append_many`."""

    action: CustodyAction
    item_id: str | None = None
    case_id: str | None = None
    reason: str = ""
    hash_before: str = ""
    hash_after: str = ""
    details: dict[str, Any] | None = None


def append_many(
    session: Session, events: Sequence[NewEvent], *, at: datetime, new_id: IdFactory, actor: str
) -> None:
    """Append several events in one go (one head lookup; used for large anchor batches)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = head(session)
    seq, prev = (last.seq, last.event_hash) if last else (0, GENESIS)
    rows: list[dict[str, Any]] = []
    for new in events:
        seq += 1
        event = CustodyEvent(
            seq=seq, id=new_id(), at=at, actor=actor, action=CustodyAction(new.action).value,
            item_id=new.item_id,
            case_id=new.case_id, reason=new.reason, hash_before=new.hash_before,
            hash_after=new.hash_after,
            details=canonical_json(new.details or {}).decode("utf-8"),
            prev_hash=prev, event_hash="",
        )
        event.event_hash = hash_body(event_body(event))
        prev = event.event_hash
        rows.append(event.model_dump())
    # Core inserts (not ORM objects): an anchor batch may log 10,000 events.
    for start in range(0, len(rows), 1000):
        session.execute(insert(CustodyEvent), rows[start : start + 1000])


def head(session: Session) -> CustodyEvent | None:
    return session.exec(select(CustodyEvent).order_by(col(CustodyEvent.seq).desc())).first()


@dataclass(frozen=True, slots=True)
class LogProblem:
    seq: int
    event_id: str
    problem: str


@dataclass(frozen=True, slots=True)
class LogVerification:
    events: int
    head_hash: str
    problems: tuple[LogProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> LogProblem | None:
        return self.problems[0] if self.problems else None


def verify_chain(events: Sequence[CustodyEvent]) -> LogVerification:
    """Check a whole log, oldest first; names the first edited/deleted/inserted/moved event."""
    problems: list[LogProblem] = []
    prev_hash = GENESIS
    expected_seq = 1
    for event in events:
        recomputed = hash_body(event_body(event))
        if event.seq != expected_seq:
            kind = "missing before it (deleted)" if event.seq > expected_seq else "out of order"
            problems.append(
                LogProblem(event.seq, event.id, f"expected seq {expected_seq}: events {kind}")
            )
        elif recomputed != event.event_hash:
            problems.append(
                LogProblem(event.seq, event.id, "content does not match its hash (edited)")
            )
        elif event.prev_hash != prev_hash:
            problems.append(
                LogProblem(
                    event.seq,
                    event.id,
                    "does not link to the previous event (inserted, removed or reordered)",
                )
            )
        if problems:
            break
        prev_hash = event.event_hash
        expected_seq = event.seq + 1
    return LogVerification(len(events), prev_hash if not problems else "", tuple(problems))


def load_all(session: Session) -> list[CustodyEvent]:
    return list(session.exec(select(CustodyEvent).order_by(col(CustodyEvent.seq))).all())


def extract_lines(
    events: Iterable[CustodyEvent], *, item_id: str, case_id: str | None
) -> list[bytes]:
    """The bundle extract: full lines for this item (and its case), redacted lines otherwise."""
    lines: list[bytes] = []
    for event in events:
        mine = event.item_id == item_id or (
            event.item_id in (None, "") and case_id is not None and event.case_id == case_id
        )
        if mine:
            body = event_body(event)
            body["event_hash"] = event.event_hash
        else:
            body = {
                "seq": event.seq,
                "redacted": True,
                "prev_hash": event.prev_hash,
                "event_hash": event.event_hash,
            }
        lines.append(canonical_json(body))
    return lines


def verify_extract(data: bytes) -> tuple[int, str]:
    """Check a bundle's custody extract; returns (events, head hash) or raises BundleError."""
    events = chained_events(data)
    return len(events), str(events[-1]["event_hash"])


def chained_events(data: bytes) -> list[dict[str, Any]]:
    """The events of an extract whose chain holds, in order. Raises :class:`BundleError`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"not UTF-8 ({exc})") from exc
    previous: tuple[str, int] | None = None
    events: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        event = _event(number, line)
        event_hash, prev_hash, seq = event["event_hash"], event["prev_hash"], event["seq"]
        label = f"line {number} (seq {seq})"
        if previous is not None and prev_hash != previous[0]:
            raise BundleError(
                f"{label}: prev_hash {prev_hash} does not link to the previous event_hash "
                f"{previous[0]} (an event was removed, inserted or reordered)"
            )
        if previous is not None and seq != previous[1] + 1:
            raise BundleError(f"{label}: seq follows {previous[1]} (gap or reordering)")
        _check_event_hash(label, event)
        previous = (event_hash, seq)
        events.append(event)
    if not events:
        raise BundleError("the extract holds no events")
    return events


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
    recomputed = hash_body(body)
    if recomputed != event["event_hash"]:
        raise BundleError(
            f"{label}: event_hash {event['event_hash']} differs from the recomputed {recomputed} "
            f"(the {event.get('action', '?')!s} event was edited)"
        )
