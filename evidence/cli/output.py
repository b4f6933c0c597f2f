"""How the commands speak: messages in the user's language, ``--json``, items, verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evidence import Verdict, language_from_environment, render_reasons, translation

if TYPE_CHECKING:
    from evidence import CheckResult, ItemInfo, VerificationReport


def gettext(message: str) -> str:
    """``message`` (its English source) in the language of the user's locale."""
    # The locale is read at each call, not once at import: one process (a test
    # runner, a library host) may run commands under different locales.
    return translation(language_from_environment()).gettext(message)


def pgettext(context: str, message: str) -> str:
    """:func:`gettext` for an English string that needs another rendering in ``context``."""
    return translation(language_from_environment()).pgettext(context, message)


def fail(reason: str) -> str:
    """The one line a failed command prints: ``error: reason`` in the user's language."""
    return gettext("error") + f": {reason}"


def labelled(label: str, value: object, *, err: bool = False) -> None:
    """Print ``label: value``; the label comes translated (gettext calls stay outside
    f-strings, where Python 3.11's tokenizer hides them from message extraction)."""
    click.echo(f"{label}: {value}", err=err)


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


def emit_json(value: Any) -> None:
    """Print ``value`` (a dataclass, list or dict) as the ``--json`` output."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def item_json(item: ItemInfo) -> dict[str, Any]:
    """An item for ``--json``: the token's DER and PEM blobs stay in the bundle."""
    data = asdict(item)
    if item.timestamp is not None:
        for key in ("response_der", "token_der", "tsa_certificate_pem", "trust_root_pem"):
            data["timestamp"].pop(key, None)
    return data


def print_item(item: ItemInfo) -> None:
    labelled(gettext("Item"), item.id)
    labelled(gettext("Status"), item.status.value)
    click.echo(f"URL: {item.requested_url} -> {item.final_url}")
    if item.manifest_sha256:
        labelled(pgettext("command line", "Manifest SHA-256"), item.manifest_sha256)
    if item.timestamp is not None:
        dev = " [DEVELOPMENT TSA]" if item.timestamp.development else ""
        gen_time = item.timestamp.gen_time.isoformat()
        labelled(gettext("Timestamp (genTime)"), f"{gen_time}{dev}")
    if item.anchor is not None:
        a = item.anchor
        labelled(
            gettext("Anchor"), f"chain {a.chain_id} tx {a.transaction_hash} block {a.block_number}"
        )


def print_pending(lines: Iterable[str]) -> None:
    """One line per stage an item is still owed (the TSA or the chain was unreachable)."""
    label = gettext("Still owed (run 'evidence complete' later)")
    for line in lines:
        click.echo(f"{label}: {line}")


def print_verification(result: VerificationReport) -> None:
    """Every check on its own line, then the verdict in the user's language."""
    marks = {verdict: verdict.value for verdict in Verdict}
    language = language_from_environment()
    for check in result.checks:
        click.echo(
            f"[{marks[check.verdict]:>11}] {check.check:<18} {check.subject}: "
            f"{_reason(check, language)}"
        )
    if result.exit_code == 0:
        click.echo(gettext("Verification: all checks passed"))
    elif result.exit_code == 1:
        click.echo(gettext("Verification: FAILED"))
    elif result.untrusted:
        click.echo(
            gettext(
                "Verification: UNTRUSTED — consistent, but resting on material the bundle "
                "supplies about itself; compare the fingerprints above out of band"
            )
        )
    else:
        click.echo(gettext("Verification: some checks could not be run"))


def _reason(check: CheckResult, language: str) -> str:
    """The detail in the user's language when the check gave its reasons as codes."""
    if language == "en" or not check.reasons:
        return check.detail
    catalogue = translation(language)
    return render_reasons(check.reasons, catalogue.gettext)
