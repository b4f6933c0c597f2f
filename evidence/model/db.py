"""Database engine: SQLite by default (WAL, busy timeout), PostgreSQL supported.

The schema is managed by Alembic migrations shipped in
``evidence/model/_migrations``; :func:`open_engine` brings any database up to the
newest revision this toolkit knows and refuses one written by a newer
toolkit rather than guess at it.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import create_engine

from evidence.model import tables as models  # noqa: F401  (registers the tables on SQLModel.metadata)
from evidence.model.errors import ConfigurationError
from evidence.model.permissions import private_file

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("_migrations")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported as given, it holds no secret we know of
        return url


def _private_sqlite_file(url: str) -> None:
    # SQLite creates the database (and later its -wal/-shm/-journal files, which
    # copy the database file's mode) with the process umask: create it 0600 first.
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            private_file(Path(database))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the database file {database}: {exc.strerror}"
            ) from exc


def busy_timeout_s() -> float:
    """How long a writer waits for another process's lock (``EVIDENCE_DB_BUSY_TIMEOUT_S``)."""
    raw = os.environ.get("EVIDENCE_DB_BUSY_TIMEOUT_S", "30")
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise ConfigurationError(
            f"EVIDENCE_DB_BUSY_TIMEOUT_S must be a number of seconds, not {raw!r}"
        ) from None


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """Connect, bring the schema up to date, and return the engine."""
    try:
        if url.startswith("sqlite"):
            _private_sqlite_file(url)
            engine = create_engine(url, connect_args={"timeout": busy_timeout_s()})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigurationError(f"cannot use the database URL {_redact(url)!r}: {exc}") from exc
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__
            raise ConfigurationError(f"cannot open the database {_redact(url)}: {reason}") from exc
        except SQLAlchemyError as exc:
            raise ConfigurationError(
                f"cannot open the database {_redact(url)}: {exc.__class__.__name__}"
            ) from exc
    return engine


HEAD_REVISION = "0005_identity"
"""The newest migration in ``_migrations/versions`` (a test keeps the two equal).

Knowing it lets an up-to-date database open without importing Alembic,
which every command would otherwise pay for (about 0.1 s)."""


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _recorded_revision(connection)


def head_revision() -> str:
    """The newest revision as Alembic reads it from the migration scripts."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _recorded_revision(connection: Connection) -> str | None:
    from sqlalchemy import inspect

    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def upgrade(engine: Engine) -> None:
    """Run pending migrations; refuse a schema newer than this toolkit."""
    with engine.connect() as connection:
        if _recorded_revision(connection) == HEAD_REVISION:
            return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise ConfigurationError(
                f"the database schema revision {current} is newer than this toolkit "
                f"understands (newest known: {script.get_current_head()}); "
                "upgrade the toolkit, nothing was changed"
            )
        if current == script.get_current_head():
            return
        logger.info("migrating database schema from %s to %s", current, script.get_current_head())
        command.upgrade(_alembic_config(connection), "head")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a capture writes; synchronous=FULL because
    # "sealed" must survive a power cut.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s() * 1000)}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at the start of every transaction, so
    # concurrent processes queue (busy_timeout) instead of failing on upgrade
    # from a read lock, and custody-log appends are serialised.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for values we stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
