"""jobs: the workers' outbox, named leases, and the job key of an item

Every job is written here (``queued``) before it is published to the broker, so a
lost broker message loses no work; ``evidenceitem.job_key`` (unique) lets a retried
capture job find the item it already made instead of making a second one.

Revision ID: 0004_jobs
Revises: 0003
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_jobs"
down_revision = "0003"
branch_labels = None
depends_on = None

_KINDS = ("CAPTURE", "TIMESTAMP", "ANCHOR_BATCH")
_STATUSES = ("QUEUED", "PUBLISHED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


def _aware(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.Enum(*_KINDS, name="jobkind"), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("status", sa.Enum(*_STATUSES, name="jobstatus"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("submitted_by", sa.String(), nullable=False),
        _aware("created_at", False),
        _aware("updated_at", False),
        _aware("published_at", True),
        _aware("started_at", True),
        _aware("finished_at", True),
        _aware("lease_until", True),
        sa.Column("worker", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_kind", "job", ["kind"], unique=False)
    op.create_index("ix_job_status", "job", ["status"], unique=False)
    op.create_index("ix_job_idempotency_key", "job", ["idempotency_key"], unique=True)
    op.create_table(
        "joblease",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        _aware("expires_at", False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("evidenceitem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_key", sa.String(), nullable=True))
        batch_op.create_index(batch_op.f("ix_evidenceitem_job_key"), ["job_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("evidenceitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidenceitem_job_key"))
        batch_op.drop_column("job_key")
    op.drop_table("joblease")
    op.drop_index("ix_job_idempotency_key", table_name="job")
    op.drop_index("ix_job_status", table_name="job")
    op.drop_index("ix_job_kind", table_name="job")
    op.drop_table("job")
    sa.Enum(name="jobstatus").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="jobkind").drop(op.get_bind(), checkfirst=True)
