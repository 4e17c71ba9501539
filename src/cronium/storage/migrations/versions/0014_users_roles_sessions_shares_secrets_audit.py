"""users with roles and passwords, sessions, login throttling, token scopes, shares, typed and
secret variables, the audit log, and events' secrets mapping

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import cronium.storage.tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JsonValue = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
When = cronium.storage.tables.UTCDateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ALL_SCOPES = '["read", "run", "write", "admin"]'


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="user"))
        batch.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch.add_column(sa.Column("disabled_at", When, nullable=True))
    op.execute("UPDATE users SET role = 'admin' WHERE is_admin")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_admin")

    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scopes", JsonValue, nullable=False, server_default=ALL_SCOPES))

    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("last_seen_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", When, nullable=False),
        sa.Column("blocked_until", When, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_login_failures_kind_key")),
    )

    op.create_table(
        "event_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_shares_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_event_shares_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_shares")),
        sa.UniqueConstraint("event_id", "user_id", name=op.f("uq_event_shares_event_id_user_id")),
    )
    op.create_index(op.f("ix_event_shares_user_id"), "event_shares", ["user_id"])

    with op.batch_alter_table("variables") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("expires_at", When, nullable=True))
        batch.add_column(sa.Column("json_schema", JsonValue, nullable=True))
        batch.add_column(sa.Column("secret", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ciphertext", sa.Text(), nullable=True))
        batch.create_index(op.f("ix_variables_expires_at"), ["expires_at"])

    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("secrets", JsonValue, nullable=True))

    op.create_table(
        "audit_log",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("execution_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", JsonValue, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_action_at"), "audit_log", ["action", "at"])
    op.create_index(op.f("ix_audit_log_actor_id_at"), "audit_log", ["actor_id", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("secrets")
    with op.batch_alter_table("variables") as batch:
        batch.drop_index(op.f("ix_variables_expires_at"))
        for column in ("ciphertext", "secret", "json_schema", "expires_at", "description"):
            batch.drop_column(column)
    op.drop_table("event_shares")
    op.drop_table("login_failures")
    op.drop_table("sessions")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scopes")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("is_admin", sa.Boolean(), nullable=False, server_default="0"))
    op.execute("UPDATE users SET is_admin = (role = 'admin')")
    with op.batch_alter_table("users") as batch:
        for column in ("disabled_at", "password_hash", "role"):
            batch.drop_column(column)
