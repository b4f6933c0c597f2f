"""Who acts: the officer a command acting on evidence names as its custody actor.

Every command that changes evidence (complete, anchor, recheck, doctor's
closing of an interrupted capture) is done by a person: the officer named
with ``--officer``, else this operating-system account's default officer
(``evidence officer default``). Nobody named is refused before anything is
written, so the custody log never falls back to the operating-system account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evidence.model import custody as custody_log
from evidence.model.errors import AttributionError
from evidence.model.tables import Case
from evidence.services._context import ServiceContext
from evidence.services.cases import item_row
from evidence.services.officers import case_officers, default_officer_row, officer_row


def acting_officer(
    context: ServiceContext, enforcement_id: str | None, *, item_id: str | None = None
) -> str:
    """The enforcement ID of the officer acting: the one named (who must exist), else
    the account's default. With ``item_id``, one of that item's case's officers."""
    with context.session() as session:
        if enforcement_id is not None and enforcement_id.strip():
            officer = officer_row(session, enforcement_id)
        else:
            default = default_officer_row(session)
            if default is None:
                raise AttributionError(
                    "name the acting officer: --officer ENF_ID "
                    "(or set this account's default with 'evidence officer default ENF_ID')"
                )
            officer = default
        if item_id is not None:
            case = session.get(Case, item_row(session, item_id).case_id)
            on_case = case_officers(session, case) if case is not None else []
            if on_case and officer.id not in {o.id for o in on_case}:
                listed = ", ".join(o.enforcement_id for o in on_case)
                raise AttributionError(
                    f"officer {officer.enforcement_id} is not on the item's case "
                    f"{case.number if case else ''} ({listed})"
                )
        return officer.enforcement_id


def required_reason(reason: str, what: str) -> str:
    """``reason`` stripped; an action that needs one and has only blanks is refused."""
    if not reason.strip():
        raise AttributionError(f"{what} needs a reason: --reason TEXT")
    return reason.strip()


@dataclass(frozen=True, slots=True)
class AnchorActor:
    """Who anchors and why, as the batch's custody events record it."""

    officer: str = ""
    """Enforcement ID of the officer anchoring (empty: the explicit system actor)."""
    reason: str = ""
    reanchors: tuple[str, str] | None = None
    """For a re-anchor: the dropped batch's id and what the chain said about it."""

    def details(self) -> dict[str, Any]:
        """The facts beside actor and reason: OS user and host (the secondary record)."""
        facts: dict[str, Any] = {
            "os_user": custody_log.default_actor(),
            "host": custody_log.host_name(),
        }
        if self.reanchors is not None:
            facts["reanchors_batch"], facts["dropped_because"] = self.reanchors
        return facts
