"""Running the ``evidence`` command in-process (click's CliRunner) for the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main

# The locale decides the language of messages; every run names its own.
ENGLISH = "C.UTF-8"
CHINESE = "zh_CN.UTF-8"


def run(
    home: Path,
    *args: str,
    lang: str = ENGLISH,
    input: str | None = None,
    env: Mapping[str, str | None] | None = None,
) -> Result:
    """``evidence --home HOME ARGS...`` under locale ``lang``; the result, never raised."""
    full_env: dict[str, str | None] = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": lang}
    # The home's own development TSA and local chain, whatever the shell exports.
    full_env.update({"EVIDENCE_RPC_URL": None, "EVIDENCE_TSA_URL": None})
    full_env.update(env or {})
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input, env=full_env)


def succeeded(result: Result) -> Result:
    """``result`` after checking it exited 0 (its output in the failure message)."""
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def _no_traceback(result: Result) -> None:
    # SystemExit is how a command exits non-zero; anything else escaped the handler.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


def one_line_error(result: Result, exit_code: int = 1) -> str:
    """The single line a failed command printed on stderr (checked: one line, no traceback)."""
    _no_traceback(result)
    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def usage_error(result: Result) -> str:
    """click's ``Error: ...`` line of a refused command line (exit 2, no traceback)."""
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    return line


def stop_local_chain(home: Path) -> None:
    from anchoring.anvil import LocalChain

    LocalChain(home).stop()


def fresh_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory for a module-scoped fixture; its local chain (if started) stops after."""
    home = tmp_path_factory.mktemp("cli-home")
    yield home
    stop_local_chain(home)


def put_officer_on_case(home: Path, case_number: str) -> str:
    """The test officer, added once to this data directory and put on the case; every
    capture names its acting officer (``--officer``). Returns the enforcement ID."""
    from evidence import Settings, Toolkit
    from tests.helpers import ensure_officer

    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        return ensure_officer(kit, case_number)
