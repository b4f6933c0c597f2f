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

from evidence.model.config import Settings

REPO = Path(__file__).resolve().parents[1]

# Every test site runs on 127.0.0.1, which captures refuse unless allowed
# (tests of the refusal pass allow_private_targets=False explicitly).
os.environ.setdefault("EVIDENCE_ALLOW_PRIVATE_TARGETS", "1")


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
    return Settings(
        home=session_home,
        database_url=f"sqlite:///{session_home / 'evidence.db'}",
        # The test sites run on 127.0.0.1.
        allow_private_targets=True,
    )


POSTGRES_ENV = "EVIDENCE_TEST_POSTGRES_URL"


def _fresh_postgres_database(base_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each supported kind.

    PostgreSQL comes from EVIDENCE_TEST_POSTGRES_URL (``.ci/run`` starts a
    server with scripts/start-postgres.sh and sets it).
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    base = os.environ.get(POSTGRES_ENV)
    require(bool(base), f"{POSTGRES_ENV} is not set (run scripts/start-postgres.sh)")
    assert base is not None
    import hashlib

    name = "t_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    return _fresh_postgres_database(base, name)
