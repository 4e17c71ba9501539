"""fleet: leases, cancellation, pools, workers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:33:42.600088
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cronium.storage.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column(
            "tags",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), server_default="0", nullable=False),
        sa.Column("started_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_heartbeat_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("stopped_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_attempts", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("pool", sa.String(length=64), nullable=True))

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("retry_of", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_expires_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "cancel_requested_at",
                cronium.storage.tables.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_index(
            batch_op.f("ix_executions_status_lease_expires_at"),
            ["status", "lease_expires_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_executions_worker_id_status"), ["worker_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_executions_worker_id_status"))
        batch_op.drop_index(batch_op.f("ix_executions_status_lease_expires_at"))
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("retry_of")
        batch_op.drop_column("pool")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("pool")
        batch_op.drop_column("max_attempts")

    op.drop_table("workers")
