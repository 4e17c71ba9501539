"""schedules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:00:54.587734
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cronium.storage.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "schedule",
                sa.JSON(none_as_null=True).with_variant(
                    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "schedule_cursor", cronium.storage.tables.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "missed_runs", sa.String(length=16), server_default="run_once", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("catch_up_seconds", sa.Integer(), server_default="3600", nullable=False)
        )
        batch_op.add_column(
            sa.Column("concurrency", sa.String(length=16), server_default="allow", nullable=False)
        )
        batch_op.add_column(sa.Column("max_concurrent", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_executions", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fire_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_events_status"), ["status"], unique=False)

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_executions_event_id_scheduled_at_attempt"),
            ["event_id", "scheduled_at", "attempt"],
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_executions_event_id_scheduled_at_attempt"), type_="unique"
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_status"))
        batch_op.drop_column("fire_count")
        batch_op.drop_column("max_executions")
        batch_op.drop_column("max_concurrent")
        batch_op.drop_column("concurrency")
        batch_op.drop_column("catch_up_seconds")
        batch_op.drop_column("missed_runs")
        batch_op.drop_column("schedule_cursor")
        batch_op.drop_column("schedule")
        batch_op.drop_column("status")
