"""Long-lived children never hold the caller's secrets in /proc/PID/environ.

The local chain outlives the command that started it, and Chromium runs for
the whole capture; both are started from a process whose environment may
hold an officer's passphrase or a chain key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.anvil import LocalChain
from capture._browser import launch
from capture._driver import driver
from evidence.model.capture_options import CaptureOptions

SECRET = "planted-secret-4be21a"
SECRET_VARS = (
    "EVIDENCE_OFFICER_PASSPHRASE",
    "EVIDENCE_EXPERT_KEY_PASSPHRASE",
    "EVIDENCE_CHAIN_PRIVATE_KEY",
    "EVIDENCE_RPC_URL",
)


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARS:
        monkeypatch.setenv(name, f"{SECRET}-{name}")


def _environ(pid: int) -> str:
    return Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode()


def _descendants(pid: int) -> Iterator[int]:
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for value in child.read_text().split():
            yield int(value)
            yield from _descendants(int(value))


def test_the_local_chain_does_not_inherit_secrets(planted: None, tmp_path: Path) -> None:
    chain = LocalChain(tmp_path / "chain")
    try:
        chain.ensure_running()
        pid = chain.pid
        assert pid is not None
        env = _environ(pid)
        assert "PATH=" in env
        assert SECRET not in env
    finally:
        chain.stop()


def test_chromium_does_not_inherit_secrets(planted: None) -> None:
    import os

    with driver() as playwright:
        browser = launch(playwright, CaptureOptions())
        try:
            browsers = [
                pid
                for pid in _descendants(os.getpid())
                if "chrom" in Path(f"/proc/{pid}/comm").read_text()
            ]
            assert browsers, "no Chromium process found"
            for pid in browsers:
                assert SECRET not in _environ(pid), f"Chromium process {pid} holds a secret"
        finally:
            browser.close()
