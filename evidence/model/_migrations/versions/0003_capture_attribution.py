"""capture attribution: the acting officer, place and purpose of each capture

A capture names the officer who performed it (``evidenceitem.officer_id``) and
where and why it was made; a case holds the default place and purpose; an
operating-system account may name the officer it captures as by default.
Existing rows keep empty values: items sealed before this named no officer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "defaultofficer",
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("officer_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"]),
        sa.PrimaryKeyConstraint("account"),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("purpose", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("evidenceitem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("officer_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("purpose", sa.String(), nullable=False, server_default=""))
        batch_op.create_index(
            batch_op.f("ix_evidenceitem_officer_id"), ["officer_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_evidenceitem_officer_id_officer", "officer", ["officer_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("evidenceitem", schema=None) as batch_op:
        batch_op.drop_constraint("fk_evidenceitem_officer_id_officer", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_evidenceitem_officer_id"))
        batch_op.drop_column("purpose")
        batch_op.drop_column("place")
        batch_op.drop_column("officer_id")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("purpose")
        batch_op.drop_column("place")
    op.drop_table("defaultofficer")
