"""identity: the service's users (role, agency, linked officer) and bearer tokens

Passwords are Argon2id hashes; tokens are kept as the SHA-256 of the token only.

Revision ID: 0005_identity
Revises: 0004_jobs
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_identity"
down_revision = "0004_jobs"
branch_labels = None
depends_on = None

_ROLES = ("OFFICER", "EXPERT", "SUPERVISOR", "ADMINISTRATOR", "CASE_SYSTEM")
_TOKEN_KINDS = ("API", "SESSION")


def _aware(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "serviceuser",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("agency_id", sa.String(), nullable=False),
        sa.Column("role", sa.Enum(*_ROLES, name="role"), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("officer_id", sa.String(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _aware("created_at", False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_serviceuser_name", "serviceuser", ["name"], unique=True)
    op.create_index("ix_serviceuser_agency_id", "serviceuser", ["agency_id"], unique=False)
    op.create_index("ix_serviceuser_officer_id", "serviceuser", ["officer_id"], unique=False)
    op.create_table(
        "accesstoken",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("kind", sa.Enum(*_TOKEN_KINDS, name="tokenkind"), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("token_sha256", sa.String(), nullable=False),
        _aware("created_at", False),
        _aware("expires_at", False),
        _aware("revoked_at", True),
        sa.ForeignKeyConstraint(["user_id"], ["serviceuser.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_accesstoken_user_id", "accesstoken", ["user_id"], unique=False)
    op.create_index("ix_accesstoken_token_sha256", "accesstoken", ["token_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_accesstoken_token_sha256", table_name="accesstoken")
    op.drop_index("ix_accesstoken_user_id", table_name="accesstoken")
    op.drop_table("accesstoken")
    op.drop_index("ix_serviceuser_officer_id", table_name="serviceuser")
    op.drop_index("ix_serviceuser_agency_id", table_name="serviceuser")
    op.drop_index("ix_serviceuser_name", table_name="serviceuser")
    op.drop_table("serviceuser")
    sa.Enum(name="tokenkind").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="role").drop(op.get_bind(), checkfirst=True)
