"""The agency service's users and API tokens: ``user add|list|passwd|token`` (thin).

A password comes from EVIDENCE_USER_PASSWORD (withdrawn from the environment
when the command starts) or a hidden prompt typed twice; an API token is
printed once and only its SHA-256 is kept. See docs/service.md.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import click

from evidence.cli.output import emit_json, gettext
from evidence.cli.session import open_toolkit

ROLES = ("officer", "expert", "supervisor", "administrator", "case_system")
PASSWORD_ENV = "EVIDENCE_USER_PASSWORD"


def _password() -> str:
    from evidence import secret

    env = secret(PASSWORD_ENV)
    if env is not None:
        return env
    value: str = click.prompt(
        gettext("Password"),
        hide_input=True,
        confirmation_prompt=gettext("Repeat the password"),
        err=True,
    )
    return value


@click.group("user")
def user() -> None:
    """Users of the agency service (evidence api): roles, passwords, API tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--agency", required=True, help="The user's agency (created if new).")
@click.option("--officer", "enforcement_id", default="", metavar="ENF_ID",
              help="officer: the officer record whose captures are theirs.")  # fmt: skip
@click.option("--no-password", is_flag=True, help="A case system that only uses API tokens.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_add(
    ctx: click.Context,
    name: str,
    role: str,
    agency: str,
    enforcement_id: str,
    no_password: bool,
    as_json: bool,
) -> None:
    """Add user NAME with a ROLE in an AGENCY."""
    password = None if no_password else _password()
    with open_toolkit(ctx) as kit:
        info = kit.identity.add_user(
            name, role, agency, password=password, enforcement_id=enforcement_id
        )
    if as_json:
        emit_json(asdict(info))
    else:
        click.echo(f"{info.name}  {info.role.value}  {info.agency}  {info.enforcement_id}")


@user.command("list")
@click.option("--agency", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_list(ctx: click.Context, agency: str | None, as_json: bool) -> None:
    """List the service's users."""
    with open_toolkit(ctx) as kit:
        users = kit.identity.list_users(agency=agency)
    if as_json:
        emit_json([asdict(u) for u in users])
        return
    for info in users:
        state = "  " + gettext("(disabled)") if info.disabled else ""
        click.echo(f"{info.name}  {info.role.value}  {info.agency}  {info.enforcement_id}{state}")


@user.command("passwd")
@click.argument("name")
@click.pass_context
def user_passwd(ctx: click.Context, name: str) -> None:
    """Set NAME's password (their open sessions end)."""
    password = _password()
    with open_toolkit(ctx) as kit:
        kit.identity.set_password(name, password)
    click.echo(gettext("password of {name} changed").format(name=name))


@user.group("token")
def token() -> None:
    """API tokens of case systems."""


@token.command("issue")
@click.argument("name")
@click.option("--token-name", required=True, help="What the token is for (in the custody log).")
@click.option("--days", type=click.IntRange(min=1, max=3650), default=90, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_issue(ctx: click.Context, name: str, token_name: str, days: int, as_json: bool) -> None:
    """Issue an API token for user NAME: printed once, never stored."""
    with open_toolkit(ctx) as kit:
        issued = kit.identity.issue_token(name, token_name, ttl=timedelta(days=days))
    if as_json:
        emit_json({**asdict(issued), "kind": issued.kind.value})
        return
    click.echo(
        gettext("token id: {id}  expires: {expires}").format(
            id=issued.id, expires=issued.expires_at.isoformat()
        )
    )
    click.echo(issued.token)
    click.echo(gettext("(shown once: only its SHA-256 is kept)"), err=True)


@token.command("revoke")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke the API token TOKEN_ID."""
    with open_toolkit(ctx) as kit:
        kit.identity.revoke_token(token_id)
    click.echo(gettext("token {id} revoked").format(id=token_id))


COMMANDS: tuple[click.Command, ...] = (user,)
