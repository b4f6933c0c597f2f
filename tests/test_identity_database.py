"""Migration 0005_identity and the identity store on SQLite and a real PostgreSQL.

PostgreSQL comes from EVIDENCE_TEST_POSTGRES_URL (scripts/start-postgres.sh), as in
tests/test_database.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from evidence.model.config import Settings
from evidence.model.db import MIGRATIONS, head_revision, open_engine, schema_revision
from evidence.model.identity import AuthenticationError, Role
from evidence.model.records import CustodyAction
from evidence.services.toolkit import Toolkit

PASSWORD = "correct-horse-battery"
IDENTITY_TABLES = {"serviceuser", "accesstoken"}


def _alembic(database_url: str, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = create_engine(database_url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
    engine.dispose()


def _tables(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0005_upgrades_a_0004_database_and_downgrades_cleanly(database_url: str) -> None:
    _alembic(database_url, "upgrade", "0004")
    assert not IDENTITY_TABLES & _tables(database_url)
    open_engine(database_url).dispose()  # migrates to head
    assert _tables(database_url) >= IDENTITY_TABLES
    # Down and up again: the enum types (PostgreSQL) are dropped with the tables.
    _alembic(database_url, "downgrade", "0004")
    assert not IDENTITY_TABLES & _tables(database_url)
    engine = open_engine(database_url)
    assert schema_revision(engine) == head_revision()
    engine.dispose()


def test_users_tokens_and_custody_actors_on_both_databases(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    settings.home.mkdir()
    with Toolkit(settings) as kit:
        ids = kit.identity
        ids.add_user("bob", Role.SUPERVISOR, "东城市场监管局", password=PASSWORD)
        ids.add_user("cms", Role.CASE_SYSTEM, "东城市场监管局")
        session = ids.authenticate("bob", PASSWORD, client="127.0.0.1")
        bob = ids.resolve(session.token)
        assert (bob.role, bob.agency_name, bob.actor) == (
            Role.SUPERVISOR, "东城市场监管局", "user:bob",
        )  # fmt: skip
        issued = ids.issue_token("cms", "case-system-1")
        assert ids.resolve(issued.token).actor == "client:case-system-1"
        with kit.engine.connect() as db:
            stored = db.execute(text("SELECT token_sha256 FROM accesstoken")).scalars().all()
            hashes = db.execute(text("SELECT password_hash FROM serviceuser")).scalars().all()
        assert issued.token not in stored and session.token not in stored
        assert all(not h or (h.startswith("$argon2id$") and PASSWORD not in h) for h in hashes)
        # Expiry is compared as an aware time on both databases.
        with kit.engine.begin() as db:
            db.execute(
                text("UPDATE accesstoken SET expires_at = :at WHERE id = :id"),
                {"at": datetime.now(UTC) - timedelta(minutes=1), "id": issued.id},
            )
        with pytest.raises(AuthenticationError, match="expired"):
            ids.resolve(issued.token)
        second = ids.issue_token("cms", "to-revoke")
        ids.revoke_token(second.id)
        with pytest.raises(AuthenticationError, match="revoked"):
            ids.resolve(second.token)
        ids.record(bob, CustodyAction.ACCESS, details={"request": "test"})
        with kit.engine.connect() as db:
            rows = db.execute(text("SELECT actor, action FROM custodyevent")).all()
        assert ("user:bob", "access") in {(r[0], r[1]) for r in rows}
        assert ("user:bob", "auth.login") in {(r[0], r[1]) for r in rows}
