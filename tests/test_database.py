"""The database layer on SQLite and a real PostgreSQL: migrations, custody log, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import text
from sqlmodel import Session

from evidence.model import custody
from evidence.model.config import Settings
from evidence.model.db import HEAD_REVISION, head_revision, open_engine, schema_revision
from evidence.model.errors import ConfigurationError
from evidence.model.records import CustodyAction, IdFactory
from evidence.model.tables import ItemStatus
from evidence.services.toolkit import Toolkit
from tests.helpers import seal_synthetic_item


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _ids() -> IdFactory:
    counter = iter(range(1, 10**9))
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


def test_migrations_bring_a_new_database_to_head(database_url: str) -> None:
    engine = open_engine(database_url)
    assert schema_revision(engine) == head_revision()
    # Opening again is a no-op.
    open_engine(database_url).dispose()
    engine.dispose()


def test_a_schema_from_a_newer_toolkit_is_refused(database_url: str) -> None:
    engine = open_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed9999'"))
    engine.dispose()
    with pytest.raises(ConfigurationError, match="newer than this toolkit"):
        open_engine(database_url)


def test_an_unreachable_database_is_one_clear_line() -> None:
    with pytest.raises(ConfigurationError) as info:
        open_engine("postgresql+psycopg://u:secret@127.0.0.1:9/none")
    assert "secret" not in info.value.message
    assert "\n" not in info.value.message
    with pytest.raises(ConfigurationError):
        open_engine("nosuchdialect://x")


def _events(database_url: str, count: int) -> Session:
    engine = open_engine(database_url)
    clock, new_id = _Clock(), _ids()
    with Session(engine) as session:
        for i in range(count):
            custody.append(
                session,
                at=clock(),
                new_id=new_id,
                actor="张三",
                action=CustodyAction.VIEW,
                item_id=f"item-{i % 3}",
                reason=f"第{i}次",
            )
        session.commit()
    return Session(engine)


def test_the_custody_chain_verifies(database_url: str) -> None:
    with _events(database_url, 6) as session:
        events = custody.load_all(session)
        result = custody.verify_chain(events)
        assert result.ok and result.events == 6
        assert result.head_hash == events[-1].event_hash
        assert events[0].prev_hash == custody.GENESIS


def test_custody_actions_are_stored_as_their_plain_values(database_url: str) -> None:
    with _events(database_url, 1) as session:
        (event,) = custody.load_all(session)
        assert type(event.action) is str and event.action == "view"
        # A caller that ignores the types cannot log an action this toolkit does not know.
        with pytest.raises(ValueError, match="shredded"):
            custody.append(
                session,
                at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
                new_id=_ids(),
                actor="张三",
                action=cast(CustodyAction, "shredded"),
            )


@pytest.mark.parametrize(
    ("tamper", "first_bad", "words"),
    [
        ("UPDATE custodyevent SET reason = 'changed' WHERE seq = 3", 3, "edited"),
        ("DELETE FROM custodyevent WHERE seq = 4", 5, "deleted"),
        ("UPDATE custodyevent SET seq = 100 WHERE seq = 2", 3, "deleted"),
    ],
)
def test_tampering_with_the_custody_log_names_the_first_bad_event(
    database_url: str, tamper: str, first_bad: int, words: str
) -> None:
    with _events(database_url, 6) as session:
        session.execute(text(tamper))
        session.commit()
        problem = custody.verify_chain(custody.load_all(session)).first_problem
        assert problem is not None
        assert problem.seq == first_bad
        assert words in problem.problem


def test_an_inserted_or_reordered_event_is_caught(database_url: str) -> None:
    with _events(database_url, 5) as session:
        events = custody.load_all(session)
        # Re-hash a forged event 3 so its own hash is consistent: the link from 4 breaks.
        forged = events[2]
        forged.reason = "forged"
        forged.event_hash = custody.hash_body(custody.event_body(forged))
        session.add(forged)
        session.commit()
        problem = custody.verify_chain(custody.load_all(session)).first_problem
        assert problem is not None and problem.seq == 4
        assert "does not link" in problem.problem


def test_the_bundle_extract_redacts_other_items_and_still_chains(database_url: str) -> None:
    with _events(database_url, 7) as session:
        events = custody.load_all(session)
        lines = custody.extract_lines(events, item_id="item-1", case_id=None)
        data = b"\n".join(lines) + b"\n"
        count, head = custody.verify_extract(data)
        assert count == 7 and head == events[-1].event_hash
        assert sum(b'"redacted":true' in line for line in lines) == 5
        assert "第1次".encode() in data and "第0次".encode() not in data
        edited = data.replace("第4次".encode(), "第9次".encode())
        with pytest.raises(Exception, match="edited"):
            custody.verify_extract(edited)
        dropped = b"\n".join(lines[:2] + lines[3:])
        with pytest.raises(Exception, match="does not link"):
            custody.verify_extract(dropped)


def test_the_facade_seals_on_both_databases(database_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    settings.home.mkdir()
    with Toolkit(settings, clock=_Clock()) as kit:
        kit.create_case("案-PG-1", "数据库测试")
        item = seal_synthetic_item(kit, "案-PG-1", tmp_path / "work", "pg")
        assert item.status is ItemStatus.SEALED
        assert kit.get_item(item.id[:8]).manifest_sha256 == item.manifest_sha256
        assert [i.id for i in kit.list_items("案-PG-1")] == [item.id]


def test_an_older_schema_is_migrated_with_its_data_kept(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from evidence.model.db import MIGRATIONS

    engine = create_engine(database_url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                'INSERT INTO "case" (id, number, title, cause, agency, officers, created_at) '
                "VALUES ('c1', '旧-001', '旧案', '', '', '', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    engine = open_engine(database_url)
    assert schema_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text('SELECT title FROM "case"')).scalar_one() == "旧案"
    engine.dispose()


def test_the_known_head_is_alembics_head() -> None:
    # open_engine skips Alembic when the database is at HEAD_REVISION: a new
    # migration must move that constant too, or databases would not migrate.
    assert head_revision() == HEAD_REVISION


def test_an_up_to_date_database_opens_without_importing_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'e.db'}"
    open_engine(url).dispose()
    code = (
        "import sys\n"
        "from evidence.model.db import open_engine\n"
        f"open_engine({url!r}).dispose()\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
