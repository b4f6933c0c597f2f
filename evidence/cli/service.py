"""``evidence service up|down|status``: the agency service on this machine (thin).

See docs/service.md ("One machine").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from evidence.cli.output import emit_json, gettext
from evidence.cli.session import settings

if TYPE_CHECKING:
    from evidence import ServiceStack, ServiceStatus


def _stack(ctx: click.Context, ready_timeout: float = 90.0) -> ServiceStack:
    from evidence import ServiceStack

    return ServiceStack(settings(ctx).home, ready_timeout_s=ready_timeout)


def _show(status: ServiceStatus, as_json: bool) -> None:
    if as_json:
        emit_json(status.to_json())
        return
    for part in status.parts:
        pid = str(part.pid) if part.pid is not None else "-"
        click.echo(f"{part.part.value:<7} {part.state.value:<8} pid {pid:<8} {part.url}")
        click.echo("        " + gettext("log: {path}").format(path=part.log))


@click.group("service")
def service() -> None:
    """The agency service on this machine: Redis, S3, the API, a worker."""


@service.command("up")
@click.option("--ready-timeout", type=click.FloatRange(min=1), default=90.0, show_default=True,
              help="Seconds to wait for each part to answer.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def service_up(ctx: click.Context, ready_timeout: float, as_json: bool) -> None:
    """Start Redis, SeaweedFS S3, the API and a worker with the scheduler on 127.0.0.1."""
    status = _stack(ctx, ready_timeout).up()
    if not as_json:
        already = gettext("the service is already up")
        click.echo(already if status.already_up else gettext("the service is up"))
    _show(status, as_json)


@service.command("down")
@click.option("--timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def service_down(ctx: click.Context, timeout: float, as_json: bool) -> None:
    """Stop every part of the service (SIGTERM, then SIGKILL after --timeout)."""
    status = _stack(ctx).down(timeout)
    if not as_json:
        click.echo(gettext("the service is stopped"))
    _show(status, as_json)


@service.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def service_status(ctx: click.Context, as_json: bool) -> None:
    """Show each part: running, stopped or stale (a pid file whose process is gone)."""
    _show(_stack(ctx).status(), as_json)


@service.command("env")
@click.pass_context
def service_env(ctx: click.Context) -> None:
    """Print shell exports that point commands in another shell at the running service.

    eval "$(evidence service env)"; the S3 keys are not printed."""
    import shlex

    status = _stack(ctx).status()
    if not status.running:
        from evidence import ServiceNotRunningError

        raise ServiceNotRunningError(gettext("the service is not running: evidence service up"))
    for name, value in status.client_env().items():
        click.echo(f"export {name}={shlex.quote(value)}")


COMMANDS: tuple[click.Command, ...] = (service,)
