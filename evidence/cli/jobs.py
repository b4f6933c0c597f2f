"""Jobs for the workers: ``jobs submit|status|list|cancel`` and ``worker`` (thin).

A job is written to the database and then published to the broker (Redis by
default, ``EVIDENCE_BROKER_URL``); ``evidence worker`` runs a Celery worker that
takes jobs for this data directory. See docs/workers.md.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from evidence.cli.output import emit_json, gettext
from evidence.cli.session import open_toolkit, settings

if TYPE_CHECKING:
    from evidence import JobRecord

KINDS = ("capture", "timestamp", "anchor_batch")
STATUSES = ("queued", "published", "running", "succeeded", "failed", "cancelled")


def _job_json(job: JobRecord) -> dict[str, Any]:
    return {
        **{k: v for k, v in asdict(job).items() if k != "payload"},
        "kind": job.kind.value,
        "status": job.status.value,
        "payload": asdict(job.payload),
    }


def _print_job(job: JobRecord) -> None:
    click.echo(f"{job.id}  {job.kind.value:<12} {job.status.value:<10} {job.idempotency_key}")
    if job.result:
        click.echo("  " + gettext("result: {result}").format(result=job.result))
    if job.last_error:
        click.echo("  " + gettext("last error: {error}").format(error=job.last_error))
    click.echo(
        "  "
        + gettext("attempts: {attempts}  submitted by: {actor}").format(
            attempts=job.attempts, actor=job.submitted_by
        )
    )


def _emit(job: JobRecord, as_json: bool) -> None:
    if as_json:
        emit_json(_job_json(job))
    else:
        _print_job(job)


@click.group("jobs")
def jobs() -> None:
    """Jobs for the workers: submit, watch, cancel."""


@jobs.command("submit")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--key", "key", required=True, help="Idempotency key: the same key, the same job.")
@click.option("--case", "case_number", help="capture: the case number.")
@click.option("--url", help="capture: the page to capture.")
@click.option("--officer", metavar="ENF_ID", help="capture: the acting officer.")
@click.option("--place", default=None, help="capture: 地点 (default: the case's).")
@click.option("--purpose", default=None, help="capture: 目的 (default: the case's).")
@click.option("--no-timestamp", is_flag=True, help="capture: do not timestamp once sealed.")
@click.option("--item", "item_id", help="timestamp: the sealed item.")
@click.option("--max-items", type=click.IntRange(min=1), help="anchor_batch: at most this many.")
@click.option("--actor", default="", help="Who submits it (default: --officer or this account).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs_submit(
    ctx: click.Context,
    kind: str,
    key: str,
    case_number: str | None,
    url: str | None,
    officer: str | None,
    place: str | None,
    purpose: str | None,
    no_timestamp: bool,
    item_id: str | None,
    max_items: int | None,
    actor: str,
    as_json: bool,
) -> None:
    """Write a KIND job and publish it to the workers; print the job."""
    payload: dict[str, Any]
    if kind == "capture":
        payload = {"case_number": case_number, "url": url, "officer": officer}
        payload.update(place=place, purpose=purpose, then_timestamp=not no_timestamp)
    elif kind == "timestamp":
        payload = {"item_id": item_id}
    else:
        payload = {"max_items": max_items}
    with open_toolkit(ctx) as kit:
        job = kit.jobs.submit(kind, payload, key, actor or officer or kit.actor)
    _emit(job, as_json)


@jobs.command("status")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs_status(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Show JOB_ID: status, attempts, result, last error."""
    with open_toolkit(ctx) as kit:
        job = kit.jobs.status(job_id)
    _emit(job, as_json)


@jobs.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs_list(
    ctx: click.Context, status: str | None, kind: str | None, limit: int, as_json: bool
) -> None:
    """List jobs, newest first."""
    from evidence import JobKind, JobStatus

    with open_toolkit(ctx) as kit:
        found = kit.jobs.list(
            status=JobStatus(status) if status else None,
            kind=JobKind(kind) if kind else None,
            limit=limit,
        )
    if as_json:
        emit_json([_job_json(job) for job in found])
        return
    for job in found:
        _print_job(job)


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs_cancel(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Cancel JOB_ID if no worker has started it."""
    with open_toolkit(ctx) as kit:
        job = kit.jobs.cancel(job_id)
    _emit(job, as_json)


@click.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--pool", type=click.Choice(("prefork", "solo", "threads")), default="prefork")
@click.option("--beat", is_flag=True, help="Also run the scheduler (sweeper, anchoring turn).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_context
def worker(ctx: click.Context, concurrency: int, pool: str, beat: bool, loglevel: str) -> None:
    """Run a Celery worker for this data directory (replaces this process).

    Run --beat on one machine only; start more workers anywhere that reaches the
    same database, store and broker."""
    home = settings(ctx).home
    args = [
        sys.executable, "-m", "celery", "-A", "evidence.worker.app", "worker",
        f"--pool={pool}", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
    ]  # fmt: skip
    if beat:
        args += ["--beat", f"--schedule={home / 'celerybeat-schedule'}"]
    os.environ["EVIDENCE_HOME"] = str(home)
    # The worker is this toolkit in a new process image, not a third-party child: it needs
    # the database URL, the chain key and the S3 secret this command withdrew at start.
    from evidence import held_secrets

    os.environ.update(held_secrets())
    sys.stdout.flush()
    os.execv(sys.executable, args)


COMMANDS: tuple[click.Command, ...] = (jobs, worker)
