"""What every command needs before it calls the library: the toolkit, passphrases, files."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evidence.cli.output import gettext, labelled

if TYPE_CHECKING:
    from evidence import ReportSigner, Settings, Toolkit


@dataclass(frozen=True, slots=True)
class CommandState:
    """The root options every command sees as ``ctx.obj``."""

    home: str | None
    """``--home`` (or EVIDENCE_HOME); None for the user's data directory."""


def state(ctx: click.Context) -> CommandState:
    found = ctx.find_object(CommandState)
    # A command invoked on its own, without the root group, gets the defaults.
    return found if found is not None else CommandState(home=None)


def settings(ctx: click.Context) -> Settings:
    """The toolkit's settings from the environment and ``--home``."""
    from evidence import Settings

    return Settings.from_env(state(ctx).home)


def open_toolkit(ctx: click.Context) -> Toolkit:
    """The toolkit for this command; asks once for a keystore passphrase when needed."""
    from evidence import Toolkit

    config = settings(ctx)
    if (
        config.chain_keystore_path is not None
        and config.chain_keystore_password is None
        and sys.stdin.isatty()
    ):
        # Asked once per command, never echoed; EVIDENCE_CHAIN_KEYSTORE_PASSWORD skips it.
        password = click.prompt(
            f"Passphrase of {config.chain_keystore_path}", hide_input=True, err=True
        )
        config = dataclasses.replace(config, chain_keystore_password=password)
    return Toolkit(config)


def officer_passphrase(*, confirm: bool) -> str:
    """From EVIDENCE_OFFICER_PASSPHRASE, else a hidden prompt (typed twice for a new key)."""
    from evidence import OFFICER_PASSPHRASE_ENV, secret

    env = secret(OFFICER_PASSPHRASE_ENV)
    if env is not None:
        return env  # an empty value is refused by the library, with one line
    value: str = click.prompt(
        gettext("Passphrase for the officer's key"),
        hide_input=True,
        confirmation_prompt=gettext("Repeat the passphrase") if confirm else False,
        default="",
        show_default=False,
        err=True,
    )
    return value


def report_signer(kit: Toolkit, enforcement_id: str) -> ReportSigner:
    """The one officer who signs in this command, unlocked with their own passphrase."""
    return kit.report_signer(enforcement_id, officer_passphrase(confirm=False))


def read_file(path: Path) -> bytes:
    """The bytes of a file the user named; a bad parameter (exit 2) when unreadable."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from exc


def read_optional(path: Path | None) -> bytes | None:
    return None if path is None else read_file(path)


def write_text_out(data: bytes, out: Path | None) -> None:
    """Write PEM text to ``out``, or to standard output when no file is named."""
    if out is None:
        click.echo(data.decode("ascii"), nl=False)
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise click.BadParameter(f"cannot write {out}: {exc.strerror}") from exc
    labelled(gettext("Written"), out, err=True)
