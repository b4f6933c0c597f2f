"""A verification leaves no process behind and never starts an empty chain.

On the capturing machine a stopped local node is woken to check the anchor
and stopped again; on an expert's machine, which has no local chain of its
own, no node is started at all (a fresh, empty one could only make a
genuine bundle fail).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.anvil import LocalChain, find_anvil
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError
from evidence.model.records import Verdict
from evidence.services.demo_site import DemoSite
from evidence.services.toolkit import Toolkit
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer
from tests.test_verify_checks import exporting_officer


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    try:
        find_anvil()
    except ConfigurationError as exc:
        require(False, exc.message)
    home = tmp_path_factory.mktemp("capturing-home")
    with Toolkit(Settings.from_env(home)) as kit, DemoSite() as site:
        kit.create_case("C-proc", "verification processes", exist_ok=True)
        local = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
        item = capture_as_officer(kit, "C-proc", site.url_for("/old-listing"), local)
        done = kit.complete(item.id)
        assert not done.pending, done.pending
        kit.trust.trust_this_machine()  # this machine checks its own work
        officer = exporting_officer(kit)
        # A signed report carries a PAdES time-stamp, which pyHanko validates too.
        out = kit.export(item.id, home / "item.zip", exported_by=officer, sign_with=officer)
    yield home, out
    LocalChain(home).stop()


def _chain_verdicts(report_checks: object) -> list[Verdict]:
    return [c.verdict for c in report_checks if c.check == "anchor.chain"]  # type: ignore[attr-defined]


def test_the_capturing_machine_wakes_its_node_and_puts_it_back_down(
    bundle: tuple[Path, Path],
) -> None:
    home, out = bundle
    LocalChain(home).stop()
    assert LocalChain(home).pid is None
    with Toolkit(Settings.from_env(home)) as kit:
        report = kit.verify(out, options=None)
    assert _chain_verdicts(report.checks) == [Verdict.PASS]
    assert LocalChain(home).pid is None


def test_a_running_node_is_left_running(bundle: tuple[Path, Path]) -> None:
    home, out = bundle
    chain = LocalChain(home)
    chain.ensure_running()
    pid = chain.pid
    with Toolkit(Settings.from_env(home)) as kit:
        kit.verify(out)
    assert LocalChain(home).pid == pid


def test_an_expert_machine_starts_no_chain(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    home, out = bundle
    LocalChain(home).stop()  # the capturing machine's node is not reachable from elsewhere
    expert = tmp_path / "expert-home"
    with Toolkit(Settings.from_env(expert)) as kit:
        report = kit.verify(out)
    assert _chain_verdicts(report.checks) == [Verdict.NOT_CHECKED]
    assert LocalChain(expert).pid is None
    assert not LocalChain(expert).state_path.exists()


@pytest.mark.parametrize("machine", ["capturing", "expert"])
def test_the_command_prints_no_library_traceback(
    bundle: tuple[Path, Path], tmp_path: Path, machine: str
) -> None:
    """pyHanko logs a handled path-building failure with its traceback; a user never sees it."""
    import os
    import subprocess
    import sys

    home, out = bundle
    data = home if machine == "capturing" else tmp_path / "expert-home"
    env = {**os.environ, "EVIDENCE_HOME": str(data)}
    run = subprocess.run(
        [sys.executable, "-m", "cli", "verify", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode in (0, 2), run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert "pyhanko" not in run.stderr, run.stderr
    LocalChain(home).stop()
