"""Start-up: ``evidence --help`` in a blink, and no command loads what it does not use.

Each probe runs in a fresh interpreter, the way an officer's shell runs the
command, and reports which top-level modules were imported.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# Reports the modules imported after start-up (site's own are not the command's).
_PROBE = """
import json, sys
before = set(sys.modules)
from click.testing import CliRunner
import cli
codes = [CliRunner().invoke(cli.main, args).exit_code for args in json.loads(sys.argv[1])]
modules = {m.split(".")[0] for m in set(sys.modules) - before}
print(json.dumps({"exit_codes": codes, "modules": sorted(modules)}))
"""

HEAVY = ("web3", "eth_account", "pyhanko", "playwright", "reportlab", "pikepdf", "PIL", "warcio")
"""Libraries only capture, anchoring, signing and report commands need."""


def _probe(home: Path, *commands: list[str]) -> tuple[list[int], set[str]]:
    env = {**os.environ, "EVIDENCE_HOME": str(home), "LANG": "C.UTF-8"}
    for variable in ("EVIDENCE_RPC_URL", "EVIDENCE_TSA_URL", "LC_ALL"):
        env.pop(variable, None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    return report["exit_codes"], set(report["modules"])


def test_help_and_version_load_only_click_and_the_light_facade(tmp_path: Path) -> None:
    codes, modules = _probe(
        tmp_path, ["--help"], ["--version"], ["capture", "--help"], ["verify", "--help"]
    )
    assert codes == [0, 0, 0, 0]
    ours = {"cli", "evidence", "click", "platformdirs"}
    assert modules - set(sys.stdlib_module_names) - ours == set()


def test_commands_that_do_not_need_them_skip_the_heavy_libraries(tmp_path: Path) -> None:
    commands = (
        ["case", "create", "C-1", "--title", "t"],
        ["case", "list", "--json"],
        ["items", "--json"],
        ["find", "--case", "C-1"],
        ["log", "verify"],
        ["doctor"],
        ["officer", "list"],
        ["tsa", "presets"],
    )
    codes, modules = _probe(tmp_path, *commands)
    assert codes == [0] * len(commands)
    assert "sqlmodel" in modules  # the probe did reach the database
    assert sorted(modules & set(HEAVY)) == []


def test_version_answers_within_a_third_of_a_second() -> None:
    def once() -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, "-m", "cli", "--version"], cwd=REPO, check=True, capture_output=True
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    # Processor time, not wall time: on a busy shared machine (CI, parallel test
    # runs) waiting for a core says nothing about the command. On an idle machine
    # the two agree; the best of five discounts a cold file cache.
    assert min(once() for _ in range(5)) <= 0.3
