"""tools (encrypted credentials per user), deliveries (each message sent through them, and
the outbox of those still to send), tool events and the global-helpers switch

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import cronium.storage.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JsonValue = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
When = cronium.storage.tables.UTCDateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("tool_action", JsonValue, nullable=True))
        batch_op.add_column(
            sa.Column("global_helpers", sa.Boolean(), server_default="0", nullable=False)
        )
    op.create_table(
        "tools",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("owner_id", "name", name="uq_tools_owner_id_name"),
    )
    op.create_index("ix_tools_owner_id", "tools", ["owner_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("execution_id", BigId, sa.ForeignKey("executions.id", ondelete="CASCADE")),
        sa.Column("tool_id", sa.Integer(), sa.ForeignKey("tools.id", ondelete="SET NULL")),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("params", JsonValue, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), server_default="", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("code", sa.Integer()),
        sa.Column("reply", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", When, nullable=False),
        sa.Column("due_at", When),
        sa.Column("claimed_until", When),
        sa.Column("first_attempt_at", When),
        sa.Column("finished_at", When),
    )
    op.create_index("ix_deliveries_owner_id", "deliveries", ["owner_id"])
    op.create_index("ix_deliveries_execution_id", "deliveries", ["execution_id"])
    op.create_index("ix_deliveries_status_due_at", "deliveries", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("tools")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("global_helpers")
        batch_op.drop_column("tool_action")
