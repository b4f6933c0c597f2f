"""Time-stamp authorities: ``tsa serve`` (an agency's own TSA) and ``tsa presets``."""

from __future__ import annotations

from pathlib import Path

import click

from evidence.cli.session import settings

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group("tsa")
def tsa() -> None:
    """Time-stamp authorities: run an agency TSA, list public presets."""


@tsa.command("serve")
@click.option(
    "--cert",
    "cert",
    type=_FILE,
    required=True,
    help="The TSA certificate (PEM) issued by the agency CA; critical timeStamping EKU.",
)
@click.option(
    "--key",
    "key",
    type=_FILE,
    required=True,
    help="Its private key (PEM; passphrase from EVIDENCE_TSA_KEY_PASSWORD).",
)
@click.option(
    "--chain",
    "chain_pem",
    type=_FILE,
    help="Intermediate CA certificates to embed in every token (PEM).",
)
@click.option("--policy", required=True, help="The agency's TSA policy OID.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=3161, show_default=True)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Serial counter and openssl config (default: DATA_DIR/tsa-server). "
    "Servers sharing it share one serial sequence safely.",
)
@click.pass_context
def tsa_serve(
    ctx: click.Context,
    cert: Path,
    key: Path,
    chain_pem: Path | None,
    policy: str,
    host: str,
    port: int,
    state_dir: Path | None,
) -> None:
    """Serve RFC 3161 over HTTP (POST application/timestamp-query to /tsr) with openssl ts."""
    from evidence import serve_agency_tsa

    def ready(url: str) -> None:
        click.echo(f"serving {url}", err=True)

    try:
        serve_agency_tsa(
            state_dir or settings(ctx).home / "tsa-server",
            certificate=cert,
            key=key,
            chain=chain_pem,
            policy_oid=policy,
            host=host,
            port=port,
            ready=ready,
        )
    except KeyboardInterrupt:
        return  # stopping the server is the normal way out


@tsa.command("presets")
def tsa_presets() -> None:
    """Well-known public TSAs (not reachable offline); see docs/timestamping.md."""
    from evidence import tsa_presets as presets

    for p in presets():
        click.echo(f"{p.name}\t{p.url}\t{p.operator}\n\troots: {p.roots}")


COMMANDS: tuple[click.Command, ...] = (tsa,)
