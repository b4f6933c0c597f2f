"""The ``evidence`` command: a thin click layer over :mod:`evidence`.

It parses arguments, calls the library and formats results; ``--json`` gives
machine-readable output. Every toolkit error is caught once, here, and shown
as one line with a non-zero exit code. Messages follow the locale (zh_CN gets
Chinese).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from sqlalchemy.exc import OperationalError

from evidence import (
    CaptureOptions,
    EvidenceError,
    ItemInfo,
    Settings,
    Toolkit,
    Verdict,
    VerificationReport,
    __version__,
)
from evidence.model.records import ReportSigner
from evidence.services.demo import run_demo
from evidence.services.toolkit import BatchCaptureResult

P = ParamSpec("P")
R = TypeVar("R")


def _chinese() -> bool:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return value.lower().startswith("zh")
    return False


_MESSAGES: dict[str, tuple[str, str]] = {
    "error": ("error", "错误"),
    "item": ("Item", "证据编号"),
    "status": ("Status", "状态"),
    "manifest": ("Manifest SHA-256", "清单 SHA-256"),
    "report": ("Report (PDF)", "报告（PDF）"),
    "bundle": ("Bundle", "证据包"),
    "pending": (
        "Still owed (run 'evidence complete' later)",
        "待补步骤（稍后运行 evidence complete）",
    ),
    "verify_ok": ("Verification: all checks passed", "核验结果：全部通过"),
    "verify_fail": ("Verification: FAILED", "核验结果：未通过"),
    "verify_unchecked": (
        "Verification: some checks could not be run",
        "核验结果：部分项目无法核验",
    ),
    "data_dir": ("Data directory", "数据目录"),
    "timestamp": ("Timestamp (genTime)", "时间戳（genTime）"),
    "anchor": ("Anchor", "区块链锚定"),
    "dev_warning": (
        "NOTE: development TSA and local development chain — not trusted third parties.",
        "注意：使用的是开发用时间戳服务和本机开发链，并非可信第三方。",
    ),
    "case_created": ("Case created", "已创建案件"),
    "database": ("the database is unavailable or locked; nothing was changed",
                 "数据库不可用或被锁定，未做任何更改"),
    "interrupted": ("interrupted; nothing already sealed is lost", "已中断；已固定的证据不会丢失"),
}


def msg(key: str) -> str:
    en, zh = _MESSAGES[key]
    return zh if _chinese() else en


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _emit_json(value: Any) -> None:
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def _item_json(item: ItemInfo) -> dict[str, Any]:
    data = asdict(item)
    if item.timestamp is not None:
        for key in ("response_der", "token_der", "tsa_certificate_pem", "trust_root_pem"):
            data["timestamp"].pop(key, None)
    return data


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except EvidenceError as exc:
            click.echo(f"{msg('error')}: {exc.message}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo(f"{msg('error')}: {msg('interrupted')}", err=True)
            sys.exit(130)
        except OperationalError as exc:
            # Raised mid-command (a lock held past the busy timeout, a server gone);
            # opening the database already reports its own errors as EvidenceError.
            reason = str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__
            click.echo(f"{msg('error')}: {msg('database')}: {reason}", err=True)
            sys.exit(1)

    return wrapper


def _toolkit(ctx: click.Context) -> Toolkit:
    home: str | None = ctx.obj["home"]
    settings = Settings.from_env(home)
    if (
        settings.chain_keystore_path is not None
        and settings.chain_keystore_password is None
        and sys.stdin.isatty()
    ):
        # Asked once per command, never echoed; EVIDENCE_CHAIN_KEYSTORE_PASSWORD skips it.
        password = click.prompt(
            f"Passphrase of {settings.chain_keystore_path}", hide_input=True, err=True
        )
        settings = dataclasses.replace(settings, chain_keystore_password=password)
    return Toolkit(settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidence")
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="EVIDENCE_HOME",
    help="Data directory (default: the user's data dir; env EVIDENCE_HOME).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, home: str | None, verbose: int) -> None:
    """Capture web pages as court-ready, blockchain-anchored electronic evidence.

    Data flows one way: capture -> seal -> timestamp -> anchor -> report/bundle -> verify.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"home": home}


@main.command()
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
@handle_errors
def demo(ctx: click.Context, url: str | None, out_dir: Path, lang: str, as_json: bool) -> None:
    """Run the whole path on the embedded default and verify the result.

    Serves a sample shop page on 127.0.0.1 (unless --url is given), captures
    it in Chromium, seals it, timestamps it with the development TSA, anchors
    it on the local anvil chain, writes the PDF report and the bundle, and
    verifies the bundle.
    """
    with _toolkit(ctx) as kit:
        result = run_demo(kit, out_dir.resolve(), url=url, language=lang)
        if as_json:
            _emit_json(
                {
                    "item": _item_json(result.item),
                    "pending": list(result.pending),
                    "report": str(result.report_path),
                    "bundle": str(result.bundle_path),
                    "verification": asdict(result.verification),
                    "exit_code": result.verification.exit_code,
                    "data_dir": str(kit.settings.home),
                }
            )
        else:
            _print_item(result.item)
            for line in result.pending:
                click.echo(f"{msg('pending')}: {line}")
            click.echo(f"{msg('report')}: {result.report_path}")
            click.echo(f"{msg('bundle')}: {result.bundle_path}")
            click.echo(f"{msg('data_dir')}: {kit.settings.home}")
            click.echo()
            _print_verification(result.verification)
            click.echo()
            click.echo(msg("dev_warning"))
    sys.exit(result.verification.exit_code)


@main.group()
def case() -> None:
    """Create and list cases."""


@case.command("create")
@click.argument("number")
@click.option("--title", required=True, help="Case title.")
@click.option("--cause", default="", help="案由: the suspected violation.")
@click.option("--agency", default="", help="The enforcement agency.")
@click.option(
    "--officer",
    "officers",
    multiple=True,
    help="An officer with enforcement ID, e.g. '张三 (执法证号 12345)'. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def case_create(
    ctx: click.Context,
    number: str,
    title: str,
    cause: str,
    agency: str,
    officers: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create case NUMBER."""
    with _toolkit(ctx) as kit:
        info = kit.create_case(number, title, cause=cause, agency=agency, officers=officers)
    if as_json:
        _emit_json(info)
    else:
        click.echo(f"{msg('case_created')}: {info.number} {info.title}")


@case.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def case_list(ctx: click.Context, as_json: bool) -> None:
    """List cases."""
    with _toolkit(ctx) as kit:
        cases = kit.list_cases()
    if as_json:
        _emit_json([asdict(c) for c in cases])
        return
    for c in cases:
        click.echo(f"{c.number}\t{c.title}\t{c.cause}")


@main.command("capture")
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
    "--no-complete",
    is_flag=True,
    help="Only capture and seal; timestamp and anchor later with 'evidence complete'.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def capture_cmd(
    ctx: click.Context,
    case_number: str,
    url: str | None,
    url_list: Path | None,
    jobs: int,
    steps_file: Path | None,
    device: str,
    storage_state: Path | None,
    account: str,
    no_complete: bool,
    as_json: bool,
) -> None:
    """Capture URL (or every URL of --from) into case CASE_NUMBER, seal, timestamp, anchor.

    If the TSA or the chain is unreachable the item stays sealed and is
    completed later by 'evidence complete'; nothing is lost.
    """
    if (url is None) == (url_list is None):
        raise click.UsageError("give either a URL or --from FILE")
    options = CaptureOptions(
        device=device,
        steps=Toolkit.load_steps(steps_file) if steps_file else (),
        storage_state_path=storage_state,
        account_label=account,
    )
    with _toolkit(ctx) as kit:
        if url_list is not None:
            _capture_batch(kit, case_number, url_list, options, jobs, no_complete, as_json)
            return
        assert url is not None
        item = kit.capture(case_number, url, options)
        pending: tuple[str, ...] = ()
        if not no_complete:
            done = kit.complete(item.id)
            item, pending = done.item, done.pending
    if as_json:
        _emit_json({"item": _item_json(item), "pending": list(pending)})
        return
    _print_item(item)
    for line in pending:
        click.echo(f"{msg('pending')}: {line}")


def _capture_batch(
    kit: Toolkit,
    case_number: str,
    url_list: Path,
    options: CaptureOptions,
    jobs: int,
    no_complete: bool,
    as_json: bool,
) -> None:
    try:
        text = url_list.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read {url_list}: {exc}") from None
    urls = [line.strip() for line in text.splitlines()]
    urls = [u for u in urls if u and not u.startswith("#")]
    key = hashlib.sha256(f"{case_number}\n{url_list.resolve()}".encode()).hexdigest()[:16]
    state_path = kit.settings.home / "batch-state" / f"{key}.jsonl"
    click.echo(f"{len(urls)} URL(s), {jobs} at a time; progress kept in {state_path}", err=True)
    interactive = sys.stderr.isatty() and not as_json
    rows: list[dict[str, Any]] = []

    with (
        click.progressbar(length=len(urls), label="capturing", file=sys.stderr, show_pos=True)
        if interactive
        else contextlib.nullcontext() as bar
    ):

        def report(result: BatchCaptureResult) -> None:
            if result.skipped and result.item is not None:
                line = f"SKIP {result.url} (already sealed as {result.item.id})"
            elif result.item is not None:
                line = f"OK   {result.url} -> {result.item.id} {result.item.status}"
            else:
                line = f"FAIL {result.url}: {result.error}"
            if not as_json:
                click.echo(line)
            if bar is not None:
                bar.update(1)
            elif not as_json:
                click.echo(f"[{len(rows) + 1}/{len(urls)}] {result.url}", err=True)
            rows.append({"url": result.url, "skipped": result.skipped, "error": result.error,
                         "item": _item_json(result.item) if result.item else None})  # fmt: skip

        results = kit.capture_many(
            case_number, urls, options, jobs=jobs, on_result=report, state_path=state_path
        )
    pending_count = 0
    if not no_complete:
        for result in results:
            if result.item is not None and not result.skipped:
                done = kit.complete(result.item.id)
                pending_count += bool(done.pending)
    captured = sum(1 for r in results if r.item is not None and not r.skipped)
    skipped = sum(1 for r in results if r.skipped)
    failed = sum(1 for r in results if r.item is None)
    summary = f"{captured} captured, {skipped} skipped (already sealed), {failed} failed"
    if pending_count:
        summary += f", {pending_count} still owed a timestamp or anchor"
    if as_json:
        _emit_json({"results": rows, "captured": captured, "skipped": skipped, "failed": failed})
    else:
        click.echo(summary)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("item_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def complete(ctx: click.Context, item_id: str | None, as_json: bool) -> None:
    """Timestamp and anchor ITEM_ID, or every item still owed them."""
    with _toolkit(ctx) as kit:
        results = [kit.complete(item_id)] if item_id else kit.complete_pending()
    if as_json:
        _emit_json([{"item": _item_json(r.item), "pending": list(r.pending)} for r in results])
        return
    for r in results:
        _print_item(r.item)
        for line in r.pending:
            click.echo(f"{msg('pending')}: {line}")
    if any(r.pending for r in results):
        sys.exit(1)


@main.command("items")
@click.option("--case", "case_number", help="Only this case's items.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def items_cmd(ctx: click.Context, case_number: str | None, as_json: bool) -> None:
    """List evidence items and their status."""
    with _toolkit(ctx) as kit:
        items = kit.list_items(case_number)
    if as_json:
        _emit_json([_item_json(i) for i in items])
        return
    for i in items:
        click.echo(f"{i.id}\t{i.status.value}\t{i.case_number}\t{i.requested_url}")


@main.command()
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
@click.option(
    "--sign",
    "signers",
    multiple=True,
    metavar="ENF_ID",
    help="Sign the report PDF (PAdES + timestamp) as this officer; repeat for the co-signer. "
    "Passphrase from EVIDENCE_OFFICER_PASSPHRASE or a prompt.",
)
@click.pass_context
@handle_errors
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
    with _toolkit(ctx) as kit:
        if case_number is not None:
            path = kit.case_report(case_number, out_path, language=lang)
        else:
            assert item_id is not None
            path = kit.report(
                item_id, out_path, language=lang, sign_with=_report_signers(kit, signers)
            )
    click.echo(f"{msg('report')}: {path}")


def _report_signers(kit: Toolkit, enforcement_ids: tuple[str, ...]) -> list[ReportSigner]:
    return [kit.report_signer(eid, _officer_passphrase(confirm=False)) for eid in enforcement_ids]


@main.command()
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
@click.option(
    "--sign",
    "signers",
    multiple=True,
    metavar="ENF_ID",
    help="Sign the report PDF (PAdES + timestamp) as this officer; repeat for the co-signer. "
    "Passphrase from EVIDENCE_OFFICER_PASSPHRASE or a prompt.",
)
@click.pass_context
@handle_errors
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
    with _toolkit(ctx) as kit:
        if fmt == "wacz":
            assert item_id is not None
            path = kit.export_wacz(
                item_id, out_path, language=lang, sign_with=_report_signers(kit, signers)
            )
        elif case_number is not None:
            path = kit.export_case(case_number, out_path, language=lang)
        else:
            assert item_id is not None
            path = kit.export(
                item_id, out_path, language=lang, sign_with=_report_signers(kit, signers)
            )
    click.echo(f"{msg('bundle')}: {path}")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--rpc-url", help="Query this JSON-RPC endpoint instead of the recorded one.")
@click.option(
    "--trust-roots",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM file of TSA roots you trust (default: the root shipped in the bundle).",
)
@click.option(
    "--signer-roots",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM file of roots for the officers' signing certificates.",
)
@click.option("--offline", is_flag=True, help="Do not query the chain (reported NOT CHECKED).")
@click.option(
    "--registry",
    help="The registry contract address you trust; an anchor elsewhere fails.",
)
@click.option("--chain-id", type=int, help="The chain id you trust; an anchor elsewhere fails.")
@click.option("--min-confirmations", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--block-time-tolerance",
    type=click.IntRange(min=0),
    default=7200,
    show_default=True,
    help="Seconds the anchoring block may follow the token's genTime.",
)
@click.option("--no-replay", is_flag=True, help="Skip the offline replay of the WARC.")
@click.option(
    "--replay-threshold",
    type=click.FloatRange(0.0, 1.0),
    default=0.97,
    show_default=True,
    help="Least screenshot/replay similarity that passes.",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=64 * 1024**3,
    show_default=True,
    help="Largest total uncompressed bundle size in bytes (zip-bomb guard).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the verification report PDF here.",
)
@click.option(
    "--sign-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sign the --report PDF (PAdES) with this PEM private key, the expert's own; "
    "passphrase from EVIDENCE_EXPERT_KEY_PASSPHRASE when it is encrypted.",
)
@click.option(
    "--sign-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate of --sign-key (further certificates in the file: its chain).",
)
@click.option(
    "--tsa-url",
    help="Timestamp the report signature at this RFC 3161 TSA ('configured': this "
    "toolkit's TSA). Without it the signature carries no timestamp.",
)
@click.option(
    "--tsa-roots",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM trust roots of --tsa-url (not needed for a configured TSA).",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def verify(
    ctx: click.Context,
    bundle: Path,
    rpc_url: str | None,
    trust_roots: Path | None,
    signer_roots: Path | None,
    offline: bool,
    registry: str | None,
    chain_id: int | None,
    min_confirmations: int,
    block_time_tolerance: int,
    no_replay: bool,
    replay_threshold: float,
    max_size: int,
    report_path: Path | None,
    sign_key: Path | None,
    sign_cert: Path | None,
    tsa_url: str | None,
    tsa_roots: Path | None,
    lang: str,
    as_json: bool,
) -> None:
    """Verify an evidence bundle (zip or unpacked folder) or a WACZ we exported.

    Exit 0 when every check passes, 1 when any fails, 2 when some could not
    be checked (for example the chain was unreachable).
    """
    from evidence.verification.verifier import BundleLimits, VerifyOptions

    def pem(path: Path | None) -> bytes | None:
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from exc

    options = VerifyOptions(
        rpc_url=rpc_url,
        trust_roots_pem=pem(trust_roots),
        signer_roots_pem=pem(signer_roots),
        offline=offline,
        min_confirmations=min_confirmations,
        registry=registry,
        chain_id=chain_id,
        block_time_tolerance_s=block_time_tolerance,
        replay=not no_replay,
        replay_threshold=replay_threshold,
        limits=BundleLimits(max_total_bytes=max_size),
    )
    if (sign_key is None) != (sign_cert is None):
        raise click.UsageError("--sign-key and --sign-cert go together")
    if sign_key is not None and report_path is None:
        raise click.UsageError("--sign-key signs the verification report: give --report")
    if (tsa_url or tsa_roots) and sign_key is None:
        raise click.UsageError("--tsa-url/--tsa-roots timestamp the report signature: "
                               "give --sign-key")
    with _toolkit(ctx) as kit:
        signer = None
        if sign_key is not None and sign_cert is not None:
            signer = kit.expert_signer(
                pem(sign_key) or b"",
                pem(sign_cert) or b"",
                os.environ.get("EVIDENCE_EXPERT_KEY_PASSPHRASE") or None,
            )
        result = kit.verify(
            bundle,
            options=options,
            report_path=report_path,
            report_language=lang,
            report_signer=signer,
            report_tsa_url=tsa_url,
            report_tsa_roots_pem=pem(tsa_roots),
        )
    if as_json:
        _emit_json({**asdict(result), "exit_code": result.exit_code})
    else:
        _print_verification(result)
        if report_path is not None:
            click.echo(f"{msg('report')}: {report_path}")
    sys.exit(result.exit_code)


@main.group()
def chain() -> None:
    """The chain anchors go to: the embedded local anvil, or EVIDENCE_RPC_URL."""


@chain.command("up")
@click.pass_context
@handle_errors
def chain_up(ctx: click.Context) -> None:
    """Start the local development chain (it also starts on demand); print its RPC URL."""
    with _toolkit(ctx) as kit:
        click.echo(kit.local_chain_rpc_url())


@chain.command("down")
@click.pass_context
@handle_errors
def chain_down(ctx: click.Context) -> None:
    """Stop the local chain cleanly (its state is kept in the data directory)."""
    with _toolkit(ctx) as kit:
        kit.stop_local_chain()


# The names of earlier releases, kept working but out of the help text.
chain.add_command(click.Command("start", callback=chain_up.callback, hidden=True,
                                params=chain_up.params, help=chain_up.help))
chain.add_command(click.Command("stop", callback=chain_down.callback, hidden=True,
                                params=chain_down.params, help=chain_down.help))


@chain.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def chain_status(ctx: click.Context, as_json: bool) -> None:
    """Running?, RPC URL, chain id, block number, registry address, local state size."""
    with _toolkit(ctx) as kit:
        status = kit.chain_status()
    if as_json:
        _emit_json(status)
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
@handle_errors
def chain_deploy(ctx: click.Context) -> None:
    """Deploy the EvidenceRegistry on the configured chain (once; then set its address)."""
    with _toolkit(ctx) as kit:
        address = kit.deploy_registry()
    click.echo(address)
    click.echo(f"export EVIDENCE_REGISTRY_ADDRESS={address}", err=True)


@chain.command("authorize")
@click.argument("address")
@click.pass_context
@handle_errors
def chain_authorize(ctx: click.Context, address: str) -> None:
    """Let ADDRESS anchor into the registry (run with the registry owner's key)."""
    with _toolkit(ctx) as kit:
        click.echo(kit.authorize_submitter(address))


@chain.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def chain_checkpoint(ctx: click.Context, as_json: bool) -> None:
    """Timestamp the chain's latest block hash with the TSA (anchor the anchor)."""
    with _toolkit(ctx) as kit:
        cp = kit.timestamp_chain_head()
    if as_json:
        _emit_json({"id": cp.id, "chain_id": cp.chain_id, "block_number": cp.block_number,
                    "block_hash": cp.block_hash, "statement": cp.statement,
                    "gen_time": cp.token.gen_time, "tsa_url": cp.token.tsa_url})
        return
    click.echo(f"chain {cp.chain_id} block {cp.block_number} {cp.block_hash}")
    click.echo(f"{msg('timestamp')}: {cp.token.gen_time.isoformat()} ({cp.token.tsa_url})")


@chain.command("recheck")
@click.option("--confirmations", type=click.IntRange(min=1), default=None,
              help="Blocks required on top (default EVIDENCE_CONFIRMATIONS or 1).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def chain_recheck(ctx: click.Context, confirmations: int | None, as_json: bool) -> None:
    """Re-check confirmed batches; re-anchor any the chain dropped or reorganised."""
    with _toolkit(ctx) as kit:
        results = kit.recheck_anchors(confirmations)
    if as_json:
        _emit_json([asdict(r) for r in results])
        return
    for r in results:
        extra = f" -> {r.new_batch_id}" if r.new_batch_id else ""
        click.echo(f"{r.batch_id}\t{r.outcome}{extra}\t{r.detail}")
    if any(r.outcome in ("dropped", "unreachable") for r in results):
        sys.exit(1)


@main.command("anchor")
@click.argument("item_id", required=False)
@click.option("--pending", is_flag=True, help="Anchor every timestamped item still waiting.")
@click.option("--max", "max_items", type=click.IntRange(min=1), default=None,
              help="With --pending: at most this many items.")
@click.option("--watch", is_flag=True,
              help="With --pending: keep anchoring every EVIDENCE_BATCH_INTERVAL seconds.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def anchor_cmd(ctx: click.Context, item_id: str | None, pending: bool, max_items: int | None,
               watch: bool, as_json: bool) -> None:
    """Anchor ITEM_ID, or (--pending) every waiting item in Merkle batches."""
    if bool(item_id) == pending:
        raise click.UsageError("give an ITEM_ID or --pending (not both)")
    with _toolkit(ctx) as kit:
        if item_id:
            item = kit.anchor(item_id)
            if as_json:
                _emit_json(_item_json(item))
            else:
                _print_item(item)
            return
        while True:
            batches = kit.anchor_pending(max_items=max_items)
            if as_json:
                _emit_json([asdict(b) for b in batches])
            else:
                for b in batches:
                    click.echo(f"{b.id}\t{len(b.item_ids)} item(s)\t{b.transaction_hash}\t"
                               f"block {b.block_number}")
                if not batches:
                    click.echo(_zh_en("nothing waiting to be anchored", "没有待锚定的证据"))
            if not watch:
                return
            time.sleep(kit.settings.batch_interval_s)


@main.group("tsa")
def tsa_group() -> None:
    """Time-stamp authorities: run an agency TSA, list public presets."""


@tsa_group.command("serve")
@click.option("--cert", "cert", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The TSA certificate (PEM) issued by the agency CA; critical timeStamping EKU.")
@click.option("--key", "key", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Its private key (PEM; passphrase from EVIDENCE_TSA_KEY_PASSWORD).")
@click.option("--chain", "chain_pem", type=click.Path(dir_okay=False, path_type=Path),
              help="Intermediate CA certificates to embed in every token (PEM).")
@click.option("--policy", required=True, help="The agency's TSA policy OID.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=3161, show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Serial counter and openssl config (default: DATA_DIR/tsa-server). "
              "Servers sharing it share one serial sequence safely.")
@click.pass_context
@handle_errors
def tsa_serve(ctx: click.Context, cert: Path, key: Path, chain_pem: Path | None, policy: str,
              host: str, port: int, state_dir: Path | None) -> None:
    """Serve RFC 3161 over HTTP (POST application/timestamp-query to /tsr) with openssl ts."""
    from anchoring.devtsa import AgencyTSA

    settings = Settings.from_env(ctx.obj["home"])
    server = AgencyTSA(state_dir or settings.home / "tsa-server", certificate=cert, key=key,
                       chain=chain_pem, policy_oid=policy)

    def ready(url: str) -> None:
        click.echo(f"serving {url}", err=True)

    try:
        server.serve_forever(host, port, ready=ready)
    except KeyboardInterrupt:
        return


@tsa_group.command("presets")
def tsa_presets() -> None:
    """Well-known public TSAs (not reachable offline); see docs/timestamping.md."""
    from anchoring.tsa_presets import PRESETS

    for p in PRESETS.values():
        click.echo(f"{p.name}\t{p.url}\t{p.operator}\n\troots: {p.roots}")


@main.command()
@click.option("--deep", is_flag=True, help="Re-hash every stored object, not only check presence.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def doctor(ctx: click.Context, deep: bool, as_json: bool) -> None:
    """Find and settle what a crash left behind (never deletes evidence).

    Exit 0 when healthy, 1 when something needs attention.
    """
    with _toolkit(ctx) as kit:
        result = kit.doctor(deep=deep)
    if as_json:
        _emit_json({**asdict(result), "healthy": result.healthy})
    else:
        for finding in result.findings:
            click.echo(f"{finding.subject}: {finding.problem} -> {finding.action}")
        click.echo(f"items checked: {result.items_checked}; custody log "
                   f"{'intact' if result.log_ok else 'BROKEN'}")
    sys.exit(0 if result.healthy else 1)


@main.group("log")
def log_group() -> None:
    """The hash-chained custody log."""


@log_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def log_verify(ctx: click.Context, as_json: bool) -> None:
    """Check every event of the custody log; name the first edited, deleted,
    inserted or reordered one. Exit 0 when intact, 1 otherwise."""
    with _toolkit(ctx) as kit:
        result = kit.verify_custody_log()
    if as_json:
        _emit_json({**asdict(result), "ok": result.ok})
    elif result.ok:
        click.echo(f"custody log intact: {result.events} events, head {result.head_hash}")
    else:
        p = result.first_problem
        assert p is not None
        click.echo(f"custody log BROKEN at event {p.seq} ({p.event_id}): {p.problem}")
    sys.exit(0 if result.ok else 1)


@log_group.command("show")
@click.argument("item_id")
@click.option("--reason", default="", help="Why the item is being viewed (logged).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def log_show(ctx: click.Context, item_id: str, reason: str, as_json: bool) -> None:
    """Show ITEM_ID's custody events; the viewing itself is logged as a 'view' event."""
    with _toolkit(ctx) as kit:
        kit.record_custody("view", item_id=item_id, reason=reason)
        lines = kit.custody_lines(item_id)
    if as_json:
        _emit_json([asdict(line) for line in lines])
        return
    for line in lines:
        click.echo(f"{line.seq:>6} {line.at.isoformat()} {line.actor:<12} {line.action:<14} "
                   f"{line.hash_after[:16]} {line.reason}")


@main.command()
@click.option("--case", "case_number", help="Items of this case.")
@click.option("--hash", "sha256", help="A manifest or artifact SHA-256.")
@click.option("--url", help="The requested or final URL, exactly.")
@click.option("--since", type=click.DateTime(), help="Captured at or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Captured at or before (UTC).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def find(ctx: click.Context, case_number: str | None, sha256: str | None, url: str | None,
         since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Find evidence items by case, hash, URL and time range."""
    utc = [t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t
           for t in (since, until)]
    try:
        with _toolkit(ctx) as kit:
            items = kit.find_items(case_number=case_number, sha256=sha256, url=url,
                                   since=utc[0], until=utc[1])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if as_json:
        _emit_json([_item_json(i) for i in items])
        return
    for i in items:
        click.echo(f"{i.id}\t{i.status.value}\t{i.case_number}\t{i.manifest_sha256 or ''}\t"
                   f"{i.requested_url}")


def _print_item(item: ItemInfo) -> None:
    click.echo(f"{msg('item')}: {item.id}")
    click.echo(f"{msg('status')}: {item.status.value}")
    click.echo(f"URL: {item.requested_url} -> {item.final_url}")
    if item.manifest_sha256:
        click.echo(f"{msg('manifest')}: {item.manifest_sha256}")
    if item.timestamp is not None:
        dev = " [DEVELOPMENT TSA]" if item.timestamp.development else ""
        click.echo(f"{msg('timestamp')}: {item.timestamp.gen_time.isoformat()}{dev}")
    if item.anchor is not None:
        a = item.anchor
        click.echo(
            f"{msg('anchor')}: chain {a.chain_id} tx {a.transaction_hash} block {a.block_number}"
        )


def _print_verification(result: VerificationReport) -> None:
    marks = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.NOT_CHECKED: "NOT CHECKED"}
    for check in result.checks:
        click.echo(
            f"[{marks[check.verdict]:>11}] {check.check:<18} {check.subject}: {check.detail}"
        )
    if result.exit_code == 0:
        click.echo(msg("verify_ok"))
    elif result.exit_code == 1:
        click.echo(msg("verify_fail"))
    else:
        click.echo(msg("verify_unchecked"))


# -- officers and manifest signatures (issue 3 item 5) ----------------------


def _zh_en(en: str, zh: str) -> str:
    return zh if _chinese() else en


def _officer_passphrase(*, confirm: bool) -> str:
    """From EVIDENCE_OFFICER_PASSPHRASE, else a hidden prompt (typed twice for a new key)."""
    from evidence.model.officer_keys import ENV_PASSPHRASE

    env = os.environ.get(ENV_PASSPHRASE)
    if env is not None:
        return env  # an empty value is refused by the library, with one line
    value: str = click.prompt(
        _zh_en("Passphrase for the officer's key", "执法人员密钥口令"),
        hide_input=True,
        confirmation_prompt=_zh_en("Repeat the passphrase", "再次输入口令") if confirm else False,
        default="",
        show_default=False,
        err=True,
    )
    return value


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from exc


def _write_text_out(data: bytes, out: Path | None) -> None:
    if out is None:
        click.echo(data.decode("ascii"), nl=False)
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise click.BadParameter(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(f"{_zh_en('Written', '已写入')}: {out}", err=True)


@main.group()
def officer() -> None:
    """Officers: signing keys (encrypted at rest), certificates, case assignment."""


@officer.command("add")
@click.argument("name")
@click.option("--id", "enforcement_id", required=True, help="Enforcement ID (执法证号).")
@click.option("--agency", default=None, help="The officer's agency (certificate O=).")
@click.option(
    "--algorithm",
    type=click.Choice(["ecdsa-p256", "ed25519"]),
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
@handle_errors
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
    passphrase = _officer_passphrase(confirm=True)
    with _toolkit(ctx) as kit:
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
            _write_text_out(kit.officer_csr(info.enforcement_id, passphrase), csr_out)
    if as_json:
        _emit_json(info)
        return
    click.echo(f"{_zh_en('Officer added', '已添加执法人员')}: {info.name} ({info.enforcement_id})")
    click.echo(f"{_zh_en('Key', '密钥')}: {info.key_algorithm}, {info.key_path}")
    if info.certificate_sha256:
        click.echo(f"{_zh_en('Certificate SHA-256', '证书 SHA-256')}: {info.certificate_sha256}")


@officer.command("csr")
@click.argument("enforcement_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.pass_context
@handle_errors
def officer_csr(ctx: click.Context, enforcement_id: str, out: Path | None) -> None:
    """Write a certificate signing request (PEM) for the agency CA."""
    passphrase = _officer_passphrase(confirm=False)
    with _toolkit(ctx) as kit:
        data = kit.officer_csr(enforcement_id, passphrase)
    _write_text_out(data, out)


@officer.command("import-cert")
@click.argument("enforcement_id")
@click.argument("cert_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def officer_import_cert(
    ctx: click.Context, enforcement_id: str, cert_file: Path, as_json: bool
) -> None:
    """Import the certificate the agency CA issued for this officer's key."""
    with _toolkit(ctx) as kit:
        info = kit.import_officer_certificate(enforcement_id, _read_file(cert_file))
    if as_json:
        _emit_json(info)
        return
    click.echo(f"{_zh_en('Certificate imported', '已导入证书')}: {info.certificate_subject}")
    click.echo(f"{_zh_en('Issuer', '签发者')}: {info.certificate_issuer}")


@officer.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def officer_list(ctx: click.Context, as_json: bool) -> None:
    """List officers and their certificates."""
    with _toolkit(ctx) as kit:
        officers = kit.list_officers()
    if as_json:
        _emit_json([asdict(o) for o in officers])
        return
    for o in officers:
        until = o.not_valid_after.date().isoformat() if o.not_valid_after else "-"
        cert = (
            ("self-signed" if o.self_signed else o.certificate_issuer)
            if o.certificate_sha256
            else _zh_en("no certificate (CSR pending)", "无证书（待 CA 签发）")
        )
        click.echo(f"{o.enforcement_id}\t{o.name}\t{o.agency}\t{o.key_algorithm}\t{cert}\t{until}")


@officer.command("assign")
@click.argument("case_number")
@click.argument("enforcement_id")
@click.pass_context
@handle_errors
def officer_assign(ctx: click.Context, case_number: str, enforcement_id: str) -> None:
    """Put officer ENFORCEMENT_ID on case CASE_NUMBER."""
    with _toolkit(ctx) as kit:
        info = kit.assign_officer(case_number, enforcement_id)
    click.echo(f"{info.number}: {'; '.join(info.officers)}")


@officer.command("signatures")
@click.argument("item_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def officer_signatures(ctx: click.Context, item_id: str, as_json: bool) -> None:
    """List (and re-verify) the officers' signatures on ITEM_ID's manifest."""
    with _toolkit(ctx) as kit:
        signatures = kit.item_signatures(item_id)
        signers = kit.verify_item_signatures(item_id)
    if as_json:
        _emit_json(
            [
                {
                    **{k: v for k, v in asdict(s).items() if k not in ("signature_der",)},
                    "certificate_pem": s.certificate_pem.decode("ascii"),
                    "verified": True,
                }
                for s in signatures
            ]
        )
        return
    for s, signer in zip(signatures, signers, strict=True):
        click.echo(
            f"{s.index}\t{s.role}\t{signer.common_name}\t{signer.enforcement_id}\t"
            f"{s.signed_at.isoformat()}\t{s.key_algorithm}\t{s.certificate_sha256}"
        )


@main.command("sign")
@click.argument("item_id")
@click.option("--officer", "enforcement_id", required=True, help="The signing officer's ID.")
@click.option("--cosign", is_flag=True, help="Co-sign as a second officer (after the capture).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def sign_cmd(
    ctx: click.Context, item_id: str, enforcement_id: str, cosign: bool, as_json: bool
) -> None:
    """Sign ITEM_ID's sealed manifest with an officer's key (detached CMS)."""
    passphrase = _officer_passphrase(confirm=False)
    with _toolkit(ctx) as kit:
        info = kit.sign_item(
            item_id, enforcement_id, passphrase, role="cosign" if cosign else "capture"
        )
    if as_json:
        data = asdict(info)
        data.pop("signature_der")
        data["certificate_pem"] = info.certificate_pem.decode("ascii")
        _emit_json(data)
        return
    click.echo(
        f"{_zh_en('Signed', '已签名')}: {info.item_id} #{info.index} {info.role} "
        f"{info.officer_name} ({info.enforcement_id}) {info.signed_at.isoformat()}"
    )



if __name__ == "__main__":  # pragma: no cover
    main()
