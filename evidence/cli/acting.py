"""The options of a command that acts on evidence: who acts (``--officer``) and why.

The custody log names a person for every such action: the officer given, else
this account's default officer (``evidence officer default``); a command with
neither is refused before it writes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

_Command = TypeVar("_Command", bound=Callable[..., object])


def officer_option(what: str) -> Callable[[_Command], _Command]:
    """``--officer ENF_ID``: the officer who ``what`` (the custody actor)."""
    return click.option(
        "--officer",
        "officer",
        metavar="ENF_ID",
        default=None,
        help=f"The officer (执法证号) who {what}, named in the custody log. "
        "Default: the one set with 'evidence officer default'.",
    )


def reason_option(what: str, *, required: bool) -> Callable[[_Command], _Command]:
    """``--reason TEXT``: why, recorded in the custody log."""
    if required:
        return click.option("--reason", required=True, callback=_not_blank, help=what)
    return click.option("--reason", default="", help=what)


def _not_blank(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # A reason of spaces is no reason: refused like a missing one.
    if not value.strip():
        raise click.BadParameter("a reason is required, not blank")
    return value.strip()
