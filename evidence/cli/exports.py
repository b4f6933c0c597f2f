"""What leaves the toolkit for a court: ``report`` (PDF), ``cosign-report`` and ``export``
(bundle, WACZ).

One command acts, and signs, as one officer, unlocked with that officer's own
passphrase: a second officer co-signs in a command of their own.
"""

from __future__ import annotations

from pathlib import Path

import click

from evidence.cli.output import gettext, labelled
from evidence.cli.session import open_toolkit, report_signer

_SIGN_HELP = (
    "Sign the report PDF (PAdES + timestamp) as this officer, who makes it. "
    "A second officer co-signs afterwards with 'evidence cosign-report'. "
    "Passphrase from EVIDENCE_OFFICER_PASSPHRASE or a prompt."
)
_EXPORT_SIGN_HELP = (
    "Required. The exporting officer: signs the bundle's index of every file and the "
    "report PDF (PAdES + timestamp). Passphrase from EVIDENCE_OFFICER_PASSPHRASE or a prompt."
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
@click.option("--sign", "signers", metavar="ENF_ID", multiple=True, help=_SIGN_HELP)
@click.option(
    "--officer", metavar="ENF_ID", help="The officer making the report (default: the signer)."
)
@click.option("--reason", default="", help="Why, or for whom, the report is made (logged).")
@click.pass_context
def report(
    ctx: click.Context,
    item_id: str | None,
    case_number: str | None,
    out_path: Path,
    lang: str,
    signers: tuple[str, ...],
    officer: str | None,
    reason: str,
) -> None:
    """Write the evidence report (PDF) for ITEM_ID, or with --case the case summary."""
    if (item_id is None) == (case_number is None):
        raise click.UsageError("give either ITEM_ID or --case NUMBER")
    signer = _one_signer(signers)
    if signer is not None and officer is not None and signer != officer:
        raise click.UsageError("--sign and --officer name two officers: one makes and signs it")
    with open_toolkit(ctx) as kit:
        if case_number is not None:
            path = kit.case_report(
                case_number,
                out_path,
                language=lang,
                officer=officer or signer or "",
                reason=reason,
            )
        else:
            assert item_id is not None
            signing = report_signer(kit, signer) if signer is not None else None
            path = kit.report(
                item_id,
                out_path,
                language=lang,
                sign_with=signing,
                officer=officer or "",
                reason=reason,
            )
    labelled(gettext("Report (PDF)"), path)


@click.command("cosign-report")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--officer", metavar="ENF_ID", required=True, help="The co-signing officer.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the co-signed PDF here (default: replace PDF once signed).",
)
@click.option("--reason", default="", help="Why the officer co-signs (logged).")
@click.pass_context
def cosign_report(
    ctx: click.Context, pdf: Path, officer: str, out_path: Path | None, reason: str
) -> None:
    """Co-sign a signed report PDF as a second officer, with that officer's own key.

    The signature (PAdES, timestamped) is appended as an incremental update:
    the earlier signatures stay valid. The passphrase is the co-signer's own
    (EVIDENCE_OFFICER_PASSPHRASE or a hidden prompt).
    """
    with open_toolkit(ctx) as kit:
        path = kit.cosign_report(pdf, report_signer(kit, officer), out_path=out_path, reason=reason)
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
@click.option("--sign", "signers", metavar="ENF_ID", multiple=True, help=_EXPORT_SIGN_HELP)
@click.option(
    "--reason",
    default="",
    help="Required: for whom, or why, the bundle is exported (logged in custody).",
)
@click.pass_context
def export(
    ctx: click.Context,
    item_id: str | None,
    case_number: str | None,
    out_path: Path,
    fmt: str,
    lang: str,
    signers: tuple[str, ...],
    reason: str,
) -> None:
    """Write the self-contained evidence bundle (zip) for ITEM_ID or a whole --case."""
    signer = _one_signer(signers)
    if (item_id is None) == (case_number is None):
        raise click.UsageError("give either ITEM_ID or --case NUMBER")
    if fmt == "wacz" and item_id is None:
        raise click.UsageError("--format wacz exports one item: give ITEM_ID")
    if signer is None:
        # A bundle whose index nobody signed could never verify: refuse before any work.
        raise click.UsageError("give --sign ENF_ID: the exporting officer signs the bundle")
    if not reason.strip():
        raise click.UsageError("give --reason: for whom, or why, the evidence leaves the toolkit")
    with open_toolkit(ctx) as kit:
        exporter = report_signer(kit, signer)
        if case_number is not None:
            path = kit.export_case(
                case_number, out_path, language=lang, sign_with=exporter, reason=reason
            )
        else:
            assert item_id is not None
            write = kit.export_wacz if fmt == "wacz" else kit.export
            path = write(item_id, out_path, language=lang, sign_with=exporter, reason=reason)
    labelled(gettext("Bundle"), path)


def _one_signer(signers: tuple[str, ...]) -> str | None:
    """The one officer who signs in this command: two signatures are two people's steps."""
    if len(signers) > 1:
        raise click.UsageError(
            "one command signs as one officer (--sign once): a second officer co-signs "
            "with their own key and passphrase, 'evidence cosign-report PDF --officer ENF_ID'"
        )
    return signers[0] if signers else None


COMMANDS: tuple[click.Command, ...] = (report, cosign_report, export)
