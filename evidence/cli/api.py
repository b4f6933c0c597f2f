"""``evidence api``: the agency service's HTTP API on uvicorn (thin). See docs/service.md."""

from __future__ import annotations

import click

from evidence.cli.session import settings


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8750, show_default=True)
@click.option("--behind-proxy", is_flag=True,
              help="TLS is terminated by a reverse proxy: allow a non-loopback --host and "
                   "trust X-Forwarded-For from 127.0.0.1.")  # fmt: skip
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def api(ctx: click.Context, host: str, port: int, behind_proxy: bool, log_level: str) -> None:
    """Serve the HTTP API (/api/v1, schema at /openapi.json) until interrupted."""
    from evidence.api.server import serve

    serve(settings(ctx), host=host, port=port, behind_proxy=behind_proxy, log_level=log_level)


COMMANDS: tuple[click.Command, ...] = (api,)
