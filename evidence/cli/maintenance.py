"""``doctor``: find and settle what a crash left behind."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from evidence.cli.acting import officer_option, reason_option
from evidence.cli.output import emit_json
from evidence.cli.session import open_toolkit


@click.command()
@click.option("--deep", is_flag=True, help="Re-hash every stored object, not only check presence.")
@officer_option("closes interrupted captures as failed")
@reason_option(
    "Why interrupted captures are closed as failed (required when there is one).",
    required=False,
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def doctor(ctx: click.Context, deep: bool, officer: str | None, reason: str, as_json: bool) -> None:
    """Find and settle what a crash left behind (never deletes evidence).

    A capture interrupted before sealing is closed as failed by an officer for a
    reason (--officer, --reason); without them nothing is changed.
    Exit 0 when healthy, 1 when something needs attention.
    """
    with open_toolkit(ctx) as kit:
        result = kit.doctor(deep=deep, officer=officer, reason=reason, attribution_required=True)
    if as_json:
        emit_json({**asdict(result), "healthy": result.healthy})
    else:
        for finding in result.findings:
            click.echo(f"{finding.subject}: {finding.problem} -> {finding.action}")
        log = "intact" if result.log_ok else "BROKEN"
        click.echo(f"items checked: {result.items_checked}; custody log {log}")
    sys.exit(0 if result.healthy else 1)


COMMANDS: tuple[click.Command, ...] = (doctor,)
