"""Shared fixtures. Tests use real components; a missing one fails in CI.

Locally a test whose tool is missing (Chromium, anvil, openssl) is skipped
with the reason; under CI=true the same situation is a failure, so a core
test can never be skipped silently in CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.config import Settings

REPO = Path(__file__).resolve().parents[1]


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(REPO / ".venv" / "bin"))
    require(path is not None, f"{name} is not installed (run scripts/setup.sh --dev)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data directory for the end-to-end tests: one anvil, one dev TSA CA."""
    home = tmp_path_factory.mktemp("evidence-home")
    yield home
    from anchoring.anvil import LocalChain

    LocalChain(home).stop()


@pytest.fixture(scope="session")
def session_settings(session_home: Path) -> Settings:
    return Settings(home=session_home, database_url=f"sqlite:///{session_home / 'evidence.db'}")
