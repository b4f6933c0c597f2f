"""The hash-chained custody log: ``log verify`` and ``log show``."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from evidence.cli.output import emit_json
from evidence.cli.session import open_toolkit


@click.group("log")
def log() -> None:
    """The hash-chained custody log."""


@log.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def log_verify(ctx: click.Context, as_json: bool) -> None:
    """Check every event of the custody log; name the first edited, deleted,
    inserted or reordered one. Exit 0 when intact, 1 otherwise."""
    with open_toolkit(ctx) as kit:
        result = kit.verify_custody_log()
    if as_json:
        emit_json({**asdict(result), "ok": result.ok})
    elif result.ok:
        click.echo(f"custody log intact: {result.events} events, head {result.head_hash}")
    else:
        p = result.first_problem
        assert p is not None
        click.echo(f"custody log BROKEN at event {p.seq} ({p.event_id}): {p.problem}")
    sys.exit(0 if result.ok else 1)


@log.command("show")
@click.argument("item_id")
@click.option("--reason", required=True, help="Why the item is being viewed (logged).")
@click.option("--officer", metavar="ENF_ID", default="", help="The officer viewing it (logged).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def log_show(ctx: click.Context, item_id: str, reason: str, officer: str, as_json: bool) -> None:
    """Show ITEM_ID's custody events; the viewing itself is logged as a 'view' event,
    with who viewed it (--officer) and why (--reason)."""
    from evidence import CustodyAction

    with open_toolkit(ctx) as kit:
        kit.record_custody(CustodyAction.VIEW, item_id=item_id, reason=reason, officer=officer)
        lines = kit.custody_lines(item_id)
    if as_json:
        emit_json([asdict(line) for line in lines])
        return
    for line in lines:
        click.echo(
            f"{line.seq:>6} {line.at.isoformat()} {line.actor:<12} {line.action:<14} "
            f"{line.hash_after[:16]} {line.reason}"
        )


COMMANDS: tuple[click.Command, ...] = (log,)
