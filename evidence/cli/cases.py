"""Cases and the items in them: ``case create``, ``case list``, ``items``, ``find``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import click

from evidence.cli.output import emit_json, gettext, item_json, labelled
from evidence.cli.session import open_toolkit


@click.group()
def case() -> None:
    """Create and list cases."""


@case.command("create")
@click.argument("number")
@click.option("--title", required=True, help="Case title.")
@click.option("--cause", default="", help="案由: the suspected violation.")
@click.option("--agency", default="", help="The enforcement agency.")
@click.option(
    "--officer",
    "officers",
    multiple=True,
    help="An officer with enforcement ID, e.g. '张三 (执法证号 12345)'. Repeatable.",
)
@click.option("--place", default="", help="地点: where the case's captures are made (default).")
@click.option("--purpose", default="", help="目的: why the case's captures are made (default).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def case_create(
    ctx: click.Context,
    number: str,
    title: str,
    cause: str,
    agency: str,
    officers: tuple[str, ...],
    place: str,
    purpose: str,
    as_json: bool,
) -> None:
    """Create case NUMBER."""
    with open_toolkit(ctx) as kit:
        info = kit.create_case(
            number,
            title,
            cause=cause,
            agency=agency,
            officers=officers,
            place=place,
            purpose=purpose,
        )
    if as_json:
        emit_json(info)
    else:
        labelled(gettext("Case created"), f"{info.number} {info.title}")


@case.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def case_list(ctx: click.Context, as_json: bool) -> None:
    """List cases."""
    with open_toolkit(ctx) as kit:
        cases = kit.list_cases()
    if as_json:
        emit_json([asdict(c) for c in cases])
        return
    for c in cases:
        click.echo(f"{c.number}\t{c.title}\t{c.cause}")


@click.command("items")
@click.option("--case", "case_number", help="Only this case's items.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def items(ctx: click.Context, case_number: str | None, as_json: bool) -> None:
    """List evidence items and their status."""
    with open_toolkit(ctx) as kit:
        found = kit.list_items(case_number)
    if as_json:
        emit_json([item_json(i) for i in found])
        return
    for i in found:
        click.echo(f"{i.id}\t{i.status.value}\t{i.case_number}\t{i.requested_url}")


@click.command()
@click.option("--case", "case_number", help="Items of this case.")
@click.option("--hash", "sha256", help="A manifest or artifact SHA-256.")
@click.option("--url", help="The requested or final URL, exactly.")
@click.option("--since", type=click.DateTime(), help="Captured at or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Captured at or before (UTC).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def find(
    ctx: click.Context,
    case_number: str | None,
    sha256: str | None,
    url: str | None,
    since: datetime | None,
    until: datetime | None,
    as_json: bool,
) -> None:
    """Find evidence items by case, hash, URL and time range."""
    since_utc, until_utc = (
        t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t for t in (since, until)
    )
    try:
        with open_toolkit(ctx) as kit:
            found = kit.find_items(
                case_number=case_number, sha256=sha256, url=url, since=since_utc, until=until_utc
            )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if as_json:
        emit_json([item_json(i) for i in found])
        return
    for i in found:
        click.echo(
            f"{i.id}\t{i.status.value}\t{i.case_number}\t{i.manifest_sha256 or ''}\t"
            f"{i.requested_url}"
        )


COMMANDS: tuple[click.Command, ...] = (case, items, find)
