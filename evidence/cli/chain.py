"""The chain anchors go to: ``chain ...`` and ``anchor``."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict

import click

from evidence.cli.acting import officer_option, reason_option
from evidence.cli.output import emit_json, gettext, item_json, labelled, print_item
from evidence.cli.session import open_toolkit


@click.group()
def chain() -> None:
    """The chain anchors go to: the embedded local anvil, or EVIDENCE_RPC_URL."""


@chain.command("up")
@click.pass_context
def chain_up(ctx: click.Context) -> None:
    """Start the local development chain (it also starts on demand); print its RPC URL."""
    with open_toolkit(ctx) as kit:
        click.echo(kit.local_chain_rpc_url())


@chain.command("down")
@click.pass_context
def chain_down(ctx: click.Context) -> None:
    """Stop the local chain cleanly (its state is kept in the data directory)."""
    with open_toolkit(ctx) as kit:
        kit.stop_local_chain()


def _hidden_alias(name: str, command: click.Command) -> click.Command:
    return click.Command(
        name, callback=command.callback, hidden=True, params=command.params, help=command.help
    )


# The names of earlier releases, kept working but out of the help text.
chain.add_command(_hidden_alias("start", chain_up))
chain.add_command(_hidden_alias("stop", chain_down))


@chain.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def chain_status(ctx: click.Context, as_json: bool) -> None:
    """Running?, RPC URL, chain id, block number, registry address, local state size."""
    with open_toolkit(ctx) as kit:
        status = kit.chain_status()
    if as_json:
        emit_json(status)
        return
    click.echo(f"chain: {'local anvil (development)' if status.local else 'configured RPC'}")
    click.echo(f"running: {'yes' if status.running else 'no'}")
    for label, value in (
        ("rpc url", status.rpc_url),
        ("chain id", status.chain_id),
        ("block number", status.block_number),
        ("registry", status.registry_address),
        ("pid", status.pid),
        ("state file bytes", status.state_file_bytes),
    ):
        click.echo(f"{label}: {'-' if value is None else value}")
    if not status.running:
        sys.exit(1)


@chain.command("deploy")
@click.pass_context
def chain_deploy(ctx: click.Context) -> None:
    """Deploy the EvidenceRegistry on the configured chain (once; then set its address)."""
    with open_toolkit(ctx) as kit:
        address = kit.deploy_registry()
    click.echo(address)
    click.echo(f"export EVIDENCE_REGISTRY_ADDRESS={address}", err=True)


@chain.command("authorize")
@click.argument("address")
@click.pass_context
def chain_authorize(ctx: click.Context, address: str) -> None:
    """Let ADDRESS anchor into the registry (run with the registry owner's key)."""
    with open_toolkit(ctx) as kit:
        try:
            transaction = kit.authorize_submitter(address)
        except ValueError as exc:  # the library's word for a malformed address
            raise click.BadParameter(str(exc), param_hint="ADDRESS") from exc
    click.echo(transaction)


@chain.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def chain_checkpoint(ctx: click.Context, as_json: bool) -> None:
    """Timestamp the chain's latest block hash with the TSA (anchor the anchor)."""
    with open_toolkit(ctx) as kit:
        cp = kit.timestamp_chain_head()
    if as_json:
        emit_json(
            {
                "id": cp.id,
                "chain_id": cp.chain_id,
                "block_number": cp.block_number,
                "block_hash": cp.block_hash,
                "statement": cp.statement,
                "gen_time": cp.token.gen_time,
                "tsa_url": cp.token.tsa_url,
            }
        )
        return
    click.echo(f"chain {cp.chain_id} block {cp.block_number} {cp.block_hash}")
    gen_time = cp.token.gen_time.isoformat()
    labelled(gettext("Timestamp (genTime)"), f"{gen_time} ({cp.token.tsa_url})")


@chain.command("recheck")
@click.option(
    "--confirmations",
    type=click.IntRange(min=1),
    default=None,
    help="Blocks required on top (default EVIDENCE_CONFIRMATIONS or 1).",
)
@officer_option("rechecks, and re-anchors what the chain dropped")
@reason_option(
    "Why the batches are rechecked and any dropped one re-anchored (logged on each re-anchor).",
    required=True,
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def chain_recheck(
    ctx: click.Context,
    confirmations: int | None,
    officer: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Re-check confirmed batches; re-anchor any the chain dropped or reorganised."""
    from evidence import RecheckOutcome

    with open_toolkit(ctx) as kit:
        acting = kit.acting_officer(officer)
        results = kit.recheck_anchors(confirmations, officer=acting, reason=reason)
    if as_json:
        emit_json([asdict(r) for r in results])
        return
    for r in results:
        extra = f" -> {r.new_batch_id}" if r.new_batch_id else ""
        click.echo(f"{r.batch_id}\t{r.outcome}{extra}\t{r.detail}")
    if any(r.outcome in (RecheckOutcome.DROPPED, RecheckOutcome.UNREACHABLE) for r in results):
        sys.exit(1)


@click.command("anchor")
@click.argument("item_id", required=False)
@click.option("--pending", is_flag=True, help="Anchor every timestamped item still waiting.")
@click.option(
    "--max",
    "max_items",
    type=click.IntRange(min=1),
    default=None,
    help="With --pending: at most this many items.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="With --pending: keep anchoring every EVIDENCE_BATCH_INTERVAL seconds.",
)
@officer_option("anchors them")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def anchor(
    ctx: click.Context,
    item_id: str | None,
    pending: bool,
    max_items: int | None,
    watch: bool,
    officer: str | None,
    as_json: bool,
) -> None:
    """Anchor ITEM_ID, or (--pending) every waiting item in Merkle batches."""
    if bool(item_id) == pending:
        raise click.UsageError("give an ITEM_ID or --pending (not both)")
    with open_toolkit(ctx) as kit:
        acting = kit.acting_officer(officer, item_id=item_id)
        if item_id:
            item = kit.anchor(item_id, officer=acting)
            if as_json:
                emit_json(item_json(item))
            else:
                print_item(item)
            return
        while True:
            batches = kit.anchor_pending(max_items=max_items, officer=acting)
            if as_json:
                emit_json([asdict(b) for b in batches])
            else:
                for b in batches:
                    click.echo(
                        f"{b.id}\t{len(b.item_ids)} item(s)\t{b.transaction_hash}\t"
                        f"block {b.block_number}"
                    )
                if not batches:
                    click.echo(gettext("nothing waiting to be anchored"))
            if not watch:
                return
            time.sleep(kit.settings.batch_interval_s)


COMMANDS: tuple[click.Command, ...] = (chain, anchor)
