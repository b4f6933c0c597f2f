"""Capturing pages and completing them: ``capture`` (one URL or a list) and ``complete``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evidence.cli.acting import officer_option
from evidence.cli.output import emit_json, item_json, print_item, print_pending
from evidence.cli.session import open_toolkit

if TYPE_CHECKING:
    from evidence import (
        BatchCaptureResult,
        BatchSummary,
        CaptureCircumstances,
        CaptureOptions,
        Toolkit,
    )


@click.command("capture")
@click.argument("case_number")
@click.argument("url", required=False)
@click.option(
    "--from",
    "url_list",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Capture every URL in this file (one per line, # comments); resumable.",
)
@click.option(
    "--jobs",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="With --from: pages captured at a time, each in its own fresh browser.",
)
@click.option(
    "--steps",
    "steps_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Navigation steps (JSON or TOML) run after the page loads.",
)
@click.option("--device", default="", help="Device preset, e.g. iphone-13, pixel-7, desktop-1280.")
@click.option(
    "--storage-state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Playwright storage state (cookies) for a logged-in capture.",
)
@click.option("--account", default="", help="Label of the account the storage state logs in as.")
@click.option(
    "--officer",
    "officer",
    metavar="ENF_ID",
    help="The acting officer (执法证号), one of the case's officers. "
    "Default: the one set with 'evidence officer default'.",
)
@click.option(
    "--place", default=None, help="地点: where the capture is made (default: the case's)."
)
@click.option("--purpose", default=None, help="目的: why it is made (default: the case's).")
@click.option(
    "--no-complete",
    is_flag=True,
    help="Only capture and seal; timestamp and anchor later with 'evidence complete'.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def capture(
    ctx: click.Context,
    case_number: str,
    url: str | None,
    url_list: Path | None,
    jobs: int,
    steps_file: Path | None,
    device: str,
    storage_state: Path | None,
    account: str,
    officer: str | None,
    place: str | None,
    purpose: str | None,
    no_complete: bool,
    as_json: bool,
) -> None:
    """Capture URL (or every URL of --from) into case CASE_NUMBER, seal, timestamp, anchor.

    If the TSA or the chain is unreachable the item stays sealed and is
    completed later by 'evidence complete'; nothing is lost.
    """
    from evidence import (
        CaptureCircumstances,
        CaptureOptions,
        EvidenceError,
        InteractionOptions,
        RenderingOptions,
        load_steps,
        read_url_list,
    )

    if (url is None) == (url_list is None):
        raise click.UsageError("give either a URL or --from FILE")
    if url_list is not None:
        try:
            read_url_list(url_list)  # an unreadable list is a usage error, before any browser
        except EvidenceError as exc:
            raise click.UsageError(exc.message) from None
    options = CaptureOptions(
        rendering=RenderingOptions(device=device),
        interaction=InteractionOptions(
            steps=load_steps(steps_file) if steps_file else (),
            storage_state_path=storage_state,
            account_label=account,
        ),
    )
    given = CaptureCircumstances(officer=officer, place=place, purpose=purpose)
    with open_toolkit(ctx) as kit:
        if url_list is not None:
            _capture_list(kit, case_number, url_list, options, given, jobs, no_complete, as_json)
            return
        assert url is not None
        pending: tuple[str, ...] = ()
        if no_complete:
            item = kit.capture(
                case_number, url, options, officer=officer, place=place, purpose=purpose
            )
        else:
            done = kit.capture_and_complete(
                case_number, url, options, officer=officer, place=place, purpose=purpose
            )
            item, pending = done.item, done.pending
    if as_json:
        emit_json({"item": item_json(item), "pending": list(pending)})
        return
    print_item(item)
    print_pending(pending)


class _BatchProgress:
    """Progress of a URL list: a bar on a terminal, one line per URL otherwise."""

    def __init__(self, stack: contextlib.ExitStack, jobs: int, as_json: bool) -> None:
        self._stack = stack
        self._jobs = jobs
        self._as_json = as_json
        self._bar: Any = None
        self._count = 0
        self._done = 0
        self.rows: list[dict[str, Any]] = []

    def start(self, count: int, state_path: Path) -> None:
        self._count = count
        click.echo(
            f"{count} URL(s), {self._jobs} at a time; progress kept in {state_path}", err=True
        )
        if sys.stderr.isatty() and not self._as_json:
            bar = click.progressbar(length=count, label="capturing", file=sys.stderr, show_pos=True)
            self._bar = self._stack.enter_context(bar)

    def result(self, result: BatchCaptureResult) -> None:
        if result.skipped and result.item is not None:
            line = f"SKIP {result.url} (already sealed as {result.item.id})"
        elif result.item is not None:
            line = f"OK   {result.url} -> {result.item.id} {result.item.status}"
        else:
            line = f"FAIL {result.url}: {result.error}"
        if not self._as_json:
            click.echo(line)
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif not self._as_json:
            click.echo(f"[{self._done}/{self._count}] {result.url}", err=True)
        item = item_json(result.item) if result.item else None
        self.rows.append(
            {"url": result.url, "skipped": result.skipped, "error": result.error, "item": item}
        )


def _capture_list(
    kit: Toolkit,
    case_number: str,
    url_list: Path,
    options: CaptureOptions,
    given: CaptureCircumstances,
    jobs: int,
    no_complete: bool,
    as_json: bool,
) -> None:
    with contextlib.ExitStack() as stack:
        progress = _BatchProgress(stack, jobs, as_json)
        summary = kit.capture_list(
            case_number,
            url_list,
            options,
            jobs=jobs,
            complete=not no_complete,
            on_start=progress.start,
            on_result=progress.result,
            officer=given.officer,
            place=given.place,
            purpose=given.purpose,
        )
    if as_json:
        emit_json(
            {
                "results": progress.rows,
                "captured": summary.captured,
                "skipped": summary.skipped,
                "failed": summary.failed,
            }
        )
    else:
        click.echo(_summary_line(summary))
    if summary.failed:
        sys.exit(1)


def _summary_line(summary: BatchSummary) -> str:
    line = (
        f"{summary.captured} captured, {summary.skipped} skipped (already sealed), "
        f"{summary.failed} failed"
    )
    if summary.still_owed:
        line += f", {summary.still_owed} still owed a timestamp or anchor"
    return line


@click.command()
@click.argument("item_id", required=False)
@officer_option("completes them")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def complete(ctx: click.Context, item_id: str | None, officer: str | None, as_json: bool) -> None:
    """Timestamp and anchor ITEM_ID, or every item still owed them."""
    with open_toolkit(ctx) as kit:
        acting = kit.acting_officer(officer, item_id=item_id)
        results = (
            [kit.complete(item_id, officer=acting)]
            if item_id
            else kit.complete_pending(officer=acting)
        )
    if as_json:
        emit_json([{"item": item_json(r.item), "pending": list(r.pending)} for r in results])
        return
    for r in results:
        print_item(r.item)
        print_pending(r.pending)
    if any(r.pending for r in results):
        sys.exit(1)


COMMANDS: tuple[click.Command, ...] = (capture, complete)
