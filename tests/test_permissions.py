"""The data directory, database and store are private to their owner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from evidence.model.config import Settings
from evidence.model.db import open_engine
from evidence.model.store import ArtifactStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield None
    os.umask(previous)


def test_a_new_data_directory_is_private(tmp_path: Path, loose_umask: None) -> None:
    settings = Settings.from_env(tmp_path / "home")
    assert _mode(settings.home) == 0o700


def test_an_existing_loose_data_directory_is_tightened(tmp_path: Path, loose_umask: None) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    Settings.from_env(home)
    assert _mode(home) == 0o700


def test_the_sqlite_database_and_its_journal_are_private(tmp_path: Path, loose_umask: None) -> None:
    database = tmp_path / "evidence.db"
    engine = open_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()
    assert _mode(database) == 0o600
    for sidecar in tmp_path.glob("evidence.db-*"):
        assert _mode(sidecar) & 0o077 == 0, sidecar


def test_sealed_objects_are_read_only_to_their_owner(tmp_path: Path, loose_umask: None) -> None:
    store = ArtifactStore(tmp_path / "store")
    digests = store.put_bytes(b"sealed evidence")
    assert _mode(store.path_for(digests.sha256)) == 0o400
    for directory in [
        tmp_path / "store",
        *(p for p in (tmp_path / "store").rglob("*") if p.is_dir()),
    ]:
        assert _mode(directory) == 0o700, directory
