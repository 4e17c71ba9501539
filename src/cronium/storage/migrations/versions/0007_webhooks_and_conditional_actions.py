"""webhooks and conditional actions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 19:09:30.439986
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "actions",
                sa.JSON(none_as_null=True).with_variant(
                    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
                ),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_events_webhook_key_hash"), ["webhook_key_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_webhook_key_hash"), type_="unique")
        batch_op.drop_column("actions")
        batch_op.drop_column("webhook_key_hash")
