"""retries with backoff

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:06:51.651908
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cronium.storage.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retry_backoff_seconds", sa.Float(), server_default="10", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "retry_backoff_max_seconds", sa.Float(), server_default="3600", nullable=False
            )
        )

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("due_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("due_at")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("retry_backoff_max_seconds")
        batch_op.drop_column("retry_backoff_seconds")
