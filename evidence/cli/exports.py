"""What leaves the toolkit for a court: ``report`` (PDF) and ``export`` (bundle, WACZ)."""

from __future__ import annotations

from pathlib import Path

import click

from evidence.cli.output import gettext, labelled
from evidence.cli.session import open_toolkit, report_signers

_SIGN_HELP = (
    "Sign the report PDF (PAdES + timestamp) as this officer; repeat for the co-signer. "
    "Passphrase from EVIDENCE_OFFICER_PASSPHRASE or a prompt."
)
_EXPORT_SIGN_HELP = (
    "Required. The exporting officer: the first --sign signs the bundle's index of every "
    "file; each --sign signs the report PDF (PAdES + timestamp). Passphrase from "
    "EVIDENCE_OFFICER_PASSPHRASE or a prompt."
)


@click.command()
@click.argument("item_id", required=False)
@click.option("--case", "case_number", help="Write the case summary report for this case instead.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PDF file to write.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--sign", "signers", multiple=True, metavar="ENF_ID", help=_SIGN_HELP)
@click.pass_context
def report(
    ctx: click.Context,
    item_id: str | None,
    case_number: str | None,
    out_path: Path,
    lang: str,
    signers: tuple[str, ...],
) -> None:
    """Write the evidence report (PDF) for ITEM_ID, or with --case the case summary."""
    if (item_id is None) == (case_number is None):
        raise click.UsageError("give either ITEM_ID or --case NUMBER")
    with open_toolkit(ctx) as kit:
        if case_number is not None:
            path = kit.case_report(case_number, out_path, language=lang)
        else:
            assert item_id is not None
            path = kit.report(
                item_id, out_path, language=lang, sign_with=report_signers(kit, signers)
            )
    labelled(gettext("Report (PDF)"), path)


@click.command()
@click.argument("item_id", required=False)
@click.option("--case", "case_number", help="Export every item of this case in one zip.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (bundle zip, or .wacz with --format wacz).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["bundle", "wacz"]),
    default="bundle",
    show_default=True,
    help="bundle: the evidence bundle; wacz: the WARCs as a WACZ for replay tools, with the "
    "evidence bundle inside (evidence/bundle.zip) so that 'evidence verify' checks it.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--sign", "signers", multiple=True, metavar="ENF_ID", help=_EXPORT_SIGN_HELP)
@click.pass_context
def export(
    ctx: click.Context,
    item_id: str | None,
    case_number: str | None,
    out_path: Path,
    fmt: str,
    lang: str,
    signers: tuple[str, ...],
) -> None:
    """Write the self-contained evidence bundle (zip) for ITEM_ID or a whole --case."""
    if (item_id is None) == (case_number is None):
        raise click.UsageError("give either ITEM_ID or --case NUMBER")
    if fmt == "wacz" and item_id is None:
        raise click.UsageError("--format wacz exports one item: give ITEM_ID")
    if not signers:
        # A bundle whose index nobody signed could never verify: refuse before any work.
        raise click.UsageError("give --sign ENF_ID: the exporting officer signs the bundle")
    with open_toolkit(ctx) as kit:
        officers = report_signers(kit, signers)
        if case_number is not None:
            path = kit.export_case(case_number, out_path, language=lang, sign_with=officers)
        else:
            assert item_id is not None
            write = kit.export_wacz if fmt == "wacz" else kit.export
            path = write(item_id, out_path, language=lang, sign_with=officers)
    labelled(gettext("Bundle"), path)


COMMANDS: tuple[click.Command, ...] = (report, export)
