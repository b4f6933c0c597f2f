"""Alembic environment: the toolkit passes its own connection in; no alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from evidence.model import tables as models  # noqa: F401  (the tables Alembic compares against)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through evidence.model.db.open_engine, which passes a connection"
    )

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
