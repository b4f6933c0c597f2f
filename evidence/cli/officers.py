"""Officers and their signatures: ``officer ...`` and ``sign``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evidence.cli.fingerprints import colon_fingerprint
from evidence.cli.output import emit_json, gettext, labelled
from evidence.cli.session import officer_passphrase, open_toolkit, read_file, write_text_out

if TYPE_CHECKING:
    from evidence import SignatureInfo

# evidence.KEY_ALGORITHMS, spelled out: reading it loads the key code (cryptography)
# and every `evidence --help` would pay for it. A test keeps the two equal.
ALGORITHMS = ("ecdsa-p256", "ed25519")


@click.group()
def officer() -> None:
    """Officers: signing keys (encrypted at rest), certificates, case assignment."""


@officer.command("add")
@click.argument("name")
@click.option("--id", "enforcement_id", required=True, help="Enforcement ID (执法证号).")
@click.option("--agency", default=None, help="The officer's agency (certificate O=).")
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default="ecdsa-p256",
    show_default=True,
    help="ECDSA P-256 verifies everywhere (OpenSSL 3.0 cannot verify Ed25519 CMS).",
)
@click.option(
    "--csr",
    "csr_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="No self-signed certificate: write a CSR for the agency CA here instead.",
)
@click.option("--validity-days", type=click.IntRange(min=1), default=3 * 365, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def officer_add(
    ctx: click.Context,
    name: str,
    enforcement_id: str,
    agency: str | None,
    algorithm: str,
    csr_out: Path | None,
    validity_days: int,
    as_json: bool,
) -> None:
    """Add officer NAME with a new signing key (passphrase from a hidden prompt or
    EVIDENCE_OFFICER_PASSPHRASE)."""
    passphrase = officer_passphrase(confirm=True)
    with open_toolkit(ctx) as kit:
        info = kit.add_officer(
            name,
            enforcement_id,
            agency=agency,
            passphrase=passphrase,
            algorithm=algorithm,
            self_signed=csr_out is None,
            validity_days=validity_days,
        )
        if csr_out is not None:
            write_text_out(kit.officer_csr(info.enforcement_id, passphrase), csr_out)
    if as_json:
        emit_json(info)
        return
    labelled(gettext("Officer added"), f"{info.name} ({info.enforcement_id})")
    labelled(gettext("Key"), f"{info.key_algorithm}, {info.key_path}")
    if info.certificate_sha256:
        labelled(gettext("Certificate SHA-256"), info.certificate_sha256)


@officer.command("csr")
@click.argument("enforcement_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.pass_context
def officer_csr(ctx: click.Context, enforcement_id: str, out: Path | None) -> None:
    """Write a certificate signing request (PEM) for the agency CA."""
    passphrase = officer_passphrase(confirm=False)
    with open_toolkit(ctx) as kit:
        data = kit.officer_csr(enforcement_id, passphrase)
    write_text_out(data, out)


@officer.command("import-cert")
@click.argument("enforcement_id")
@click.argument("cert_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--chain",
    "chain_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The CA certificates above the officer's (PEM), if CERT_FILE holds only the officer's.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def officer_import_cert(
    ctx: click.Context,
    enforcement_id: str,
    cert_file: Path,
    chain_file: Path | None,
    as_json: bool,
) -> None:
    """Import the certificate the agency CA issued for this officer's key, with its chain
    (intermediate CAs up to the agency CA: in CERT_FILE as a PEM bundle, or --chain)."""
    data = read_file(cert_file)
    if chain_file is not None:
        # PEM blocks concatenate; a DER certificate file would not, so say so plainly.
        chain = read_file(chain_file)
        if b"-----BEGIN CERTIFICATE-----" not in data + chain:
            raise click.UsageError("with --chain, give both files as PEM")
        data = data.rstrip(b"\n") + b"\n" + chain
    with open_toolkit(ctx) as kit:
        info = kit.import_officer_certificate(enforcement_id, data)
    if as_json:
        emit_json(info)
        return
    labelled(gettext("Certificate imported"), info.certificate_subject)
    labelled(gettext("Issuer"), info.certificate_issuer)
    if info.certificate_sha256:
        labelled(gettext("Certificate SHA-256"), colon_fingerprint(info.certificate_sha256))


@officer.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def officer_list(ctx: click.Context, as_json: bool) -> None:
    """List officers and their certificates."""
    with open_toolkit(ctx) as kit:
        officers = kit.list_officers()
    if as_json:
        emit_json([asdict(o) for o in officers])
        return
    for o in officers:
        until = o.not_valid_after.date().isoformat() if o.not_valid_after else "-"
        if not o.certificate_sha256:
            cert = gettext("no certificate (CSR pending)")
        else:
            cert = "self-signed" if o.self_signed else o.certificate_issuer
        click.echo(f"{o.enforcement_id}\t{o.name}\t{o.agency}\t{o.key_algorithm}\t{cert}\t{until}")


@officer.command("assign")
@click.argument("case_number")
@click.argument("enforcement_id")
@click.pass_context
def officer_assign(ctx: click.Context, case_number: str, enforcement_id: str) -> None:
    """Put officer ENFORCEMENT_ID on case CASE_NUMBER."""
    with open_toolkit(ctx) as kit:
        info = kit.assign_officer(case_number, enforcement_id)
    click.echo(f"{info.number}: {'; '.join(info.officers)}")


@officer.command("default")
@click.argument("enforcement_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def officer_default(ctx: click.Context, enforcement_id: str | None, as_json: bool) -> None:
    """Set (or, without ENFORCEMENT_ID, show) the officer this operating-system account
    captures as when 'capture' is given no --officer."""
    with open_toolkit(ctx) as kit:
        info = (
            kit.set_default_officer(enforcement_id)
            if enforcement_id is not None
            else kit.default_officer()
        )
    if as_json:
        emit_json(asdict(info) if info is not None else None)
        return
    if info is None:
        click.echo(gettext("No default officer: captures must name one with --officer"))
        return
    labelled(gettext("Default officer"), f"{info.name} ({info.enforcement_id})")


@officer.command("signatures")
@click.argument("item_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def officer_signatures(ctx: click.Context, item_id: str, as_json: bool) -> None:
    """List (and re-verify) the officers' signatures on ITEM_ID's manifest."""
    with open_toolkit(ctx) as kit:
        signatures = kit.item_signatures(item_id)
        signers = kit.verify_item_signatures(item_id)
    if as_json:
        emit_json([{**_signature_json(s), "verified": True} for s in signatures])
        return
    for s, signer in zip(signatures, signers, strict=True):
        click.echo(
            f"{s.index}\t{s.role}\t{signer.common_name}\t{signer.enforcement_id}\t"
            f"{s.signed_at.isoformat()}\t{s.key_algorithm}\t{s.certificate_sha256}"
        )


def _signature_json(signature: SignatureInfo) -> dict[str, Any]:
    """A manifest signature for ``--json``: the certificate as PEM text, no DER blob."""
    data: dict[str, Any] = asdict(signature)
    data.pop("signature_der")
    data["certificate_pem"] = signature.certificate_pem.decode("ascii")
    return data


@click.command("sign")
@click.argument("item_id")
@click.option("--officer", "enforcement_id", required=True, help="The signing officer's ID.")
@click.option("--cosign", is_flag=True, help="Co-sign as a second officer (after the capture).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sign(
    ctx: click.Context, item_id: str, enforcement_id: str, cosign: bool, as_json: bool
) -> None:
    """Sign ITEM_ID's sealed manifest with an officer's key (detached CMS)."""
    passphrase = officer_passphrase(confirm=False)
    with open_toolkit(ctx) as kit:
        info = kit.sign_item(
            item_id, enforcement_id, passphrase, role="cosign" if cosign else "capture"
        )
    if as_json:
        emit_json(_signature_json(info))
        return
    labelled(
        gettext("Signed"),
        f"{info.item_id} #{info.index} {info.role} "
        f"{info.officer_name} ({info.enforcement_id}) {info.signed_at.isoformat()}",
    )


COMMANDS: tuple[click.Command, ...] = (officer, sign)
