"""The ``evidence`` command: a thin click layer over :mod:`evidence`.

It parses arguments, calls the library and formats results; ``--json`` gives
machine-readable output. Every toolkit error is caught once, here, and shown
as one line with a non-zero exit code. Messages follow the locale (zh_CN gets
Chinese).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from evidence import (
    EvidenceError,
    ItemInfo,
    Settings,
    Toolkit,
    Verdict,
    VerificationReport,
    __version__,
)
from evidence.demo import run_demo

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

    return wrapper


def _toolkit(ctx: click.Context) -> Toolkit:
    home: str | None = ctx.obj["home"]
    return Toolkit(Settings.from_env(home))


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
@click.argument("url")
@click.option(
    "--no-complete",
    is_flag=True,
    help="Only capture and seal; timestamp and anchor later with 'evidence complete'.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def capture_cmd(
    ctx: click.Context, case_number: str, url: str, no_complete: bool, as_json: bool
) -> None:
    """Capture URL into case CASE_NUMBER, seal it, then timestamp and anchor it.

    If the TSA or the chain is unreachable the item stays sealed and is
    completed later by 'evidence complete'; nothing is lost.
    """
    with _toolkit(ctx) as kit:
        item = kit.capture(case_number, url)
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
@click.argument("item_id")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PDF file to write.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
@handle_errors
def report(ctx: click.Context, item_id: str, out_path: Path, lang: str) -> None:
    """Write the evidence report (PDF) for ITEM_ID."""
    with _toolkit(ctx) as kit:
        path = kit.report(item_id, out_path, language=lang)
    click.echo(f"{msg('report')}: {path}")


@main.command()
@click.argument("item_id")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Bundle zip to write.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
@handle_errors
def export(ctx: click.Context, item_id: str, out_path: Path, lang: str) -> None:
    """Write the self-contained evidence bundle (zip) for ITEM_ID."""
    with _toolkit(ctx) as kit:
        path = kit.export(item_id, out_path, language=lang)
    click.echo(f"{msg('bundle')}: {path}")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--rpc-url", help="Query this JSON-RPC endpoint instead of the recorded one.")
@click.option(
    "--trust-roots",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM file of TSA roots you trust (default: the root shipped in the bundle).",
)
@click.option("--offline", is_flag=True, help="Do not query the chain (reported NOT CHECKED).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def verify(
    ctx: click.Context,
    bundle: Path,
    rpc_url: str | None,
    trust_roots: Path | None,
    offline: bool,
    as_json: bool,
) -> None:
    """Verify an evidence bundle (zip or unpacked folder).

    Exit 0 when every check passes, 1 when any fails, 2 when some could not
    be checked (for example the chain was unreachable).
    """
    roots: bytes | None = None
    if trust_roots is not None:
        try:
            roots = trust_roots.read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {trust_roots}: {exc.strerror}") from exc
    with _toolkit(ctx) as kit:
        result = kit.verify(bundle, rpc_url=rpc_url, trust_roots_pem=roots, offline=offline)
    if as_json:
        _emit_json({**asdict(result), "exit_code": result.exit_code})
    else:
        _print_verification(result)
    sys.exit(result.exit_code)


@main.group()
def chain() -> None:
    """Manage the embedded local development chain (anvil)."""


@chain.command("start")
@click.pass_context
@handle_errors
def chain_start(ctx: click.Context) -> None:
    """Start the local chain (it also starts on demand)."""
    with _toolkit(ctx) as kit:
        click.echo(kit.local_chain_rpc_url())


@chain.command("stop")
@click.pass_context
@handle_errors
def chain_stop(ctx: click.Context) -> None:
    """Stop the local chain cleanly (its state is kept in the data directory)."""
    with _toolkit(ctx) as kit:
        kit.stop_local_chain()


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


if __name__ == "__main__":  # pragma: no cover
    main()
