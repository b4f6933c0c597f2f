"""The ``evidence`` command: a thin click layer over :mod:`evidence`.

This module holds the root group, its options (``--home``, ``-v``,
``--version``) and the one place every failure is turned into one line and
a non-zero exit code; the commands live in :mod:`evidence.cli`, a module per
group. ``--json`` gives machine-readable output. Messages follow the locale
(zh_CN gets Chinese).

Start-up is kept to click and the light part of the facade: a command imports
the toolkit (and through it the database, the browser, the chain client)
only when it runs.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from evidence import EvidenceError, MaskingFormatter, __version__, withdrawn_secrets
from evidence.cli import (
    api,
    capture,
    cases,
    chain,
    custody,
    demo,
    exports,
    jobs,
    maintenance,
    officers,
    service,
    store,
    trust,
    tsa,
    users,
    verify,
)
from evidence.cli.output import fail, gettext
from evidence.cli.session import CommandState


def _database_failure(exc: Exception) -> str | None:
    """The reason, when ``exc`` is the database driver's failure mid-command.

    A lock held past the busy timeout or a server gone surfaces as SQLAlchemy's
    OperationalError; opening the database reports its own errors as
    EvidenceError already. SQLAlchemy is looked up, not imported: it can only
    have raised if a command loaded it, and importing it here would slow
    every start-up.
    """
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(exc, errors.OperationalError):
        return None
    original = getattr(exc, "orig", None)
    return str(original).splitlines()[0] if original else exc.__class__.__name__


class _Root(click.Group):
    """The root group: every command's failure ends here as one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvidenceError as exc:
            click.echo(fail(exc.message), err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo(fail(gettext("interrupted; nothing already sealed is lost")), err=True)
            sys.exit(130)
        except Exception as exc:
            reason = _database_failure(exc)
            if reason is None:
                raise
            unavailable = gettext("the database is unavailable or locked; nothing was changed")
            click.echo(fail(f"{unavailable}: {reason}"), err=True)
            sys.exit(1)


_OUR_LOGGERS = frozenset({"evidence", "capture", "anchoring", "reports", "cli", "__main__"})


def _ours_or_error(record: logging.LogRecord) -> bool:
    return record.name.split(".")[0] in _OUR_LOGGERS or record.levelno >= logging.ERROR


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
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
    # First thing: every process this command starts (Playwright's driver
    # copies the whole environment) must find no passphrase, key or URL
    # credential in its environment.
    ctx.with_resource(withdrawn_secrets())
    level = logging.WARNING - 10 * min(verbose, 2)
    # Libraries log whole URLs at debug level (web3 its RPC endpoint with the key).
    handler = logging.StreamHandler()
    handler.setFormatter(
        MaskingFormatter("%(levelname)s %(name)s: %(message)s", tracebacks=verbose >= 2)
    )
    if not verbose:
        # Our own verdicts say what failed; a library's warning about the same
        # thing (pyHanko on a certificate path it could not build) is noise.
        handler.addFilter(_ours_or_error)
    logging.basicConfig(level=level, handlers=[handler])
    ctx.obj = CommandState(home=home)


def _register_commands() -> None:
    modules = (
        demo,
        cases,
        capture,
        exports,
        verify,
        trust,
        chain,
        tsa,
        maintenance,
        custody,
        officers,
        store,
        jobs,
        users,
        api,
        service,
    )
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
