"""``demo``: the whole path on a sample page, start to verified bundle."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from evidence.cli.output import (
    emit_json,
    gettext,
    item_json,
    labelled,
    print_item,
    print_pending,
    print_verification,
)
from evidence.cli.session import open_toolkit


@click.command()
@click.option("--url", help="Capture this URL instead of the bundled sample shop page.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evidence-output"),
    show_default=True,
    help="Where to write the report and the bundle.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def demo(ctx: click.Context, url: str | None, out_dir: Path, lang: str, as_json: bool) -> None:
    """Run the whole path on the embedded default and verify the result.

    Serves a sample shop page on 127.0.0.1 (unless --url is given), captures
    it in Chromium, seals it, timestamps it with the development TSA, anchors
    it on the local anvil chain, writes the PDF report and the bundle, and
    verifies the bundle.
    """
    from evidence import run_demo

    with open_toolkit(ctx) as kit:
        result = run_demo(kit, out_dir.resolve(), url=url, language=lang)
        home = kit.settings.home
    if as_json:
        emit_json(
            {
                "item": item_json(result.item),
                "pending": list(result.pending),
                "report": str(result.report_path),
                "bundle": str(result.bundle_path),
                "verification": asdict(result.verification),
                "exit_code": result.verification.exit_code,
                "data_dir": str(home),
            }
        )
    else:
        print_item(result.item)
        print_pending(result.pending)
        labelled(gettext("Report (PDF)"), result.report_path)
        labelled(gettext("Bundle"), result.bundle_path)
        labelled(gettext("Data directory"), home)
        click.echo()
        print_verification(result.verification)
        click.echo()
        click.echo(
            gettext(
                "NOTE: development TSA and local development chain — not trusted third parties."
            )
        )
    sys.exit(result.verification.exit_code)


COMMANDS: tuple[click.Command, ...] = (demo,)
