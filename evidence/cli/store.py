"""``store``: the artifact store's backend — ``migrate`` a local store to S3, ``check`` it."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from evidence.cli.output import emit_json, gettext, labelled
from evidence.cli.session import open_toolkit

if TYPE_CHECKING:
    from evidence.services.storage import ObjectProblem


@click.group()
def store() -> None:
    """The artifact store: local (default) or S3 (EVIDENCE_STORE_URL=s3://bucket/prefix)."""


@store.command()
@click.option("--to", "target", required=True, metavar="s3://BUCKET/PREFIX", help="Where to.")
@click.option(
    "--endpoint",
    metavar="URL",
    help="The S3 endpoint (default: EVIDENCE_S3_ENDPOINT; unset: AWS).",
)
@click.option(
    "--create-bucket", is_flag=True, help="Create the bucket (with Object Lock) if missing."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def migrate(
    ctx: click.Context, target: str, endpoint: str | None, create_bucket: bool, as_json: bool
) -> None:
    """Copy every object of the local store to S3, then read each back and prove its digests.

    Resumable: objects already there (with the same digest) are skipped. The
    local store is not changed. Exit 0 when every digest is proved, 1 otherwise.
    """
    with open_toolkit(ctx) as kit:
        result = kit.storage.migrate(
            target,
            endpoint_url=endpoint,
            create_bucket=create_bucket,
            progress=None if as_json else _progress,
        )
    if as_json:
        emit_json({**asdict(result), "ok": result.ok})
    else:
        _clear_progress()
        labelled(gettext("Source"), result.source)
        labelled(gettext("Target"), result.target)
        click.echo(
            gettext(
                "objects: {objects}; copied: {copied} ({size} bytes); already there: {there}"
            ).format(
                objects=result.objects,
                copied=result.copied,
                size=result.bytes_copied,
                there=result.already_there,
            )
        )
        click.echo(
            gettext(
                "proved by reading back: {proved} (SM3 compared with the database: {sm3})"
            ).format(proved=result.proved, sm3=result.sm3_compared)
        )
        _print_lock(result.object_lock)
        _print_problems(result.problems)
        if result.ok:
            click.echo(
                gettext("to use it: EVIDENCE_STORE_URL={url}").format(url=target.strip()),
                err=True,
            )
    sys.exit(0 if result.ok else 1)


@store.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Re-read and re-hash every object of the store in use (S3: from the server).

    Every object the database records must be there with its SHA-256 and SM3.
    Exit 0 when all are intact, 1 otherwise.
    """
    with open_toolkit(ctx) as kit:
        result = kit.storage.check(progress=None if as_json else _progress)
    if as_json:
        emit_json({**asdict(result), "ok": result.ok})
    else:
        _clear_progress()
        labelled(gettext("Store"), result.location)
        click.echo(
            gettext(
                "objects checked: {count} ({size} bytes); recorded in the database: {recorded}"
            ).format(
                count=result.objects_checked, size=result.bytes_checked, recorded=result.recorded
            )
        )
        if result.object_lock is not None:
            _print_lock(result.object_lock)
        _print_problems(result.problems)
    sys.exit(0 if result.ok else 1)


def _print_lock(enabled: bool) -> None:
    if enabled:
        click.echo(gettext("S3 Object Lock: on (COMPLIANCE retention on every new object)"))
    else:
        click.echo(gettext("S3 Object Lock: off (write-once is enforced by the toolkit only)"))


def _print_problems(problems: tuple[ObjectProblem, ...]) -> None:
    for problem in problems:
        click.echo(f"{problem.fault.value}: {problem.sha256}: {problem.detail}")
    if problems:
        click.echo(gettext("{count} object(s) need attention").format(count=len(problems)))
    else:
        click.echo(gettext("every digest matches"))


def _progress(phase: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r{phase} {done}/{total}", nl=False, err=True)


def _clear_progress() -> None:
    if sys.stderr.isatty():
        click.echo("\r\033[K", nl=False, err=True)


COMMANDS: tuple[click.Command, ...] = (store,)
