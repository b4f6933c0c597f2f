"""``trust``: what the verifier's user trusts — TSA roots, signer roots, chains.

Every ``add`` prints the fingerprint or address it recorded, so the expert
can compare it with a second source (the TSA's site, the agency's letter).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evidence.cli.output import emit_json
from evidence.cli.session import open_toolkit, read_file

if TYPE_CHECKING:
    from evidence import TrustedCertificate, TrustedChain, TrustPolicy

_PEM = click.Path(dir_okay=False, path_type=Path)
_FILE_OPTION = click.option(
    "--file",
    "trust_file",
    type=_PEM,
    help="The trust configuration (default: EVIDENCE_TRUST_FILE, else DATA_DIR/trust.json).",
)


@click.group("trust")
def trust() -> None:
    """What a verification may rest on: TSA roots, signer roots, chains.

    `evidence verify` gives PASS only for what is established against these
    entries; what a bundle supplies about itself gives UNTRUSTED (exit 2).
    """


@trust.group("add")
def trust_add() -> None:
    """Trust a TSA root, a signer root, a chain, or this machine's own material."""


@trust_add.command("tsa")
@click.argument("pem", type=_PEM, required=False)
@click.option("--name", help="A name for the entry (default: the file name).")
@click.option("--preset", help="A shipped public TSA root instead of a file (see `trust presets`).")
@click.option("--development", is_flag=True, help="A test TSA: its verdicts keep a warning.")
@_FILE_OPTION
@click.pass_context
def add_tsa(
    ctx: click.Context,
    pem: Path | None,
    name: str | None,
    preset: str | None,
    development: bool,
    trust_file: Path | None,
) -> None:
    """Trust the TSA root certificate(s) in PEM (or a --preset's shipped roots)."""
    if (pem is None) == (preset is None):
        raise click.UsageError("give either a PEM file or --preset NAME")
    with open_toolkit(ctx) as kit:
        if preset is not None:
            added = kit.trust.trust_tsa_preset(preset, path=trust_file)
        else:
            assert pem is not None
            added = kit.trust.trust_tsa_root(
                read_file(pem), name or pem.name, development=development, path=trust_file
            )
    for entry in added:
        _echo_certificate("tsa", entry)


@trust_add.command("signer")
@click.argument("pem", type=_PEM)
@click.option("--name", help="A name for the entry (default: the file name).")
@_FILE_OPTION
@click.pass_context
def add_signer(ctx: click.Context, pem: Path, name: str | None, trust_file: Path | None) -> None:
    """Trust an agency CA or officers' certificates (PEM) for signatures."""
    with open_toolkit(ctx) as kit:
        added = kit.trust.trust_signer_root(read_file(pem), name or pem.name, path=trust_file)
    for entry in added:
        _echo_certificate("signer", entry)


@trust_add.command("chain")
@click.option("--name", required=True, help="A name for the entry, e.g. the network's.")
@click.option("--chain-id", type=click.IntRange(min=1), required=True)
@click.option("--registry", required=True, help="The EvidenceRegistry contract address.")
@click.option("--rpc-url", "rpc_urls", multiple=True, help="An endpoint to ask (repeatable).")
@click.option(
    "--submitter",
    "submitters",
    multiple=True,
    help="An account whose anchors count (repeatable; default: any the registry authorised).",
)
@click.option("--min-confirmations", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--development", is_flag=True, help="A test chain: its verdicts keep a warning.")
@_FILE_OPTION
@click.pass_context
def add_chain(
    ctx: click.Context,
    name: str,
    chain_id: int,
    registry: str,
    rpc_urls: tuple[str, ...],
    submitters: tuple[str, ...],
    min_confirmations: int,
    development: bool,
    trust_file: Path | None,
) -> None:
    """Trust a chain: its id, its registry, where to ask it and who may anchor."""
    from evidence import TrustedChain

    entry = TrustedChain(
        name=name,
        chain_id=chain_id,
        registry=registry,
        rpc_urls=rpc_urls,
        submitters=submitters,
        min_confirmations=min_confirmations,
        development=development,
    )
    with open_toolkit(ctx) as kit:
        added = kit.trust.trust_chain(entry, path=trust_file)
    _echo_chain(added)


@trust_add.command("this-machine")
@_FILE_OPTION
@click.pass_context
def add_this_machine(ctx: click.Context, trust_file: Path | None) -> None:
    """Trust this data directory's TSA roots, officers and chain (development ones marked)."""
    with open_toolkit(ctx) as kit:
        added = kit.trust.trust_this_machine(path=trust_file)
    _echo_policy(added)


@trust.command("list")
@_FILE_OPTION
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def trust_list(ctx: click.Context, trust_file: Path | None, as_json: bool) -> None:
    """Every entry, one line each: kind, name, fingerprint or chain."""
    with open_toolkit(ctx) as kit:
        policy = kit.trust.trust_policy(trust_file)
        path = kit.trust.trust_path(trust_file)
    if as_json:
        emit_json({"file": str(path), **_policy_json(policy)})
        return
    click.echo(f"# {path}")
    _echo_policy(policy)


@trust.command("show")
@click.argument("name")
@_FILE_OPTION
@click.pass_context
def trust_show(ctx: click.Context, name: str, trust_file: Path | None) -> None:
    """One entry in full (a certificate's PEM, a chain's endpoints)."""
    from evidence import NotFoundError

    with open_toolkit(ctx) as kit:
        policy = kit.trust.trust_policy(trust_file)
    for kind, certificates in (("tsa", policy.tsa_roots), ("signer", policy.signer_roots)):
        for entry in certificates:
            if entry.name == name:
                _echo_certificate(kind, entry)
                click.echo(f"subject\t{entry.subject}")
                click.echo(entry.pem.decode("ascii"), nl=False)
                return
    for chain in policy.chains:
        if chain.name == name:
            _echo_chain(chain)
            return
    raise NotFoundError(f"the trust configuration has no entry named {name!r}")


@trust.command("remove")
@click.argument("name")
@_FILE_OPTION
@click.pass_context
def trust_remove(ctx: click.Context, name: str, trust_file: Path | None) -> None:
    """Stop trusting an entry."""
    with open_toolkit(ctx) as kit:
        kit.trust.untrust(name, path=trust_file)


@trust.command("presets")
def trust_presets() -> None:
    """The public TSA roots shipped with the toolkit, with their SHA-256 fingerprints."""
    from evidence import preset_roots

    for root, entry in preset_roots():
        click.echo(f"{root.preset}\t{entry.sha256}\t{entry.subject}\t{root.note}")


def _echo_certificate(kind: str, entry: TrustedCertificate) -> None:
    development = "\tDEVELOPMENT" if entry.development else ""
    click.echo(f"{kind}\t{entry.name}\tSHA-256 {entry.sha256}{development}")


def _echo_chain(chain: TrustedChain) -> None:
    development = "\tDEVELOPMENT" if chain.development else ""
    click.echo(f"chain\t{chain.name}\t{chain.describe()}{development}")


def _echo_policy(policy: TrustPolicy) -> None:
    for entry in policy.tsa_roots:
        _echo_certificate("tsa", entry)
    for entry in policy.signer_roots:
        _echo_certificate("signer", entry)
    for chain in policy.chains:
        _echo_chain(chain)


def _policy_json(policy: TrustPolicy) -> dict[str, Any]:
    def certificate(entry: TrustedCertificate) -> dict[str, Any]:
        return {
            "name": entry.name,
            "sha256": entry.sha256,
            "subject": entry.subject,
            "development": entry.development,
        }

    return {
        "tsa_roots": [certificate(e) for e in policy.tsa_roots],
        "signer_roots": [certificate(e) for e in policy.signer_roots],
        "chains": [
            {
                "name": c.name,
                "chain_id": c.chain_id,
                "registry": c.registry,
                "rpc_urls": list(c.rpc_urls),
                "submitters": list(c.submitters),
                "min_confirmations": c.min_confirmations,
                "development": c.development,
                "local_node": c.local_node,
            }
            for c in policy.chains
        ],
    }


COMMANDS: tuple[click.Command, ...] = (trust,)
