"""event versions, HTTP-request events and an index for the schedulers' change feed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:11:56.735770
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cronium.storage.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("created_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_versions_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_versions")),
        sa.UniqueConstraint("event_id", "version", name=op.f("uq_event_versions_event_id_version")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="script", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "http",
                sa.JSON(none_as_null=True).with_variant(
                    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.alter_column("language", existing_type=sa.VARCHAR(length=16), nullable=True)
        batch_op.create_index(batch_op.f("ix_events_updated_at"), ["updated_at"], unique=False)

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_version", sa.Integer(), nullable=True))

    _first_versions()


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("event_version")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_updated_at"))
        batch_op.alter_column("language", existing_type=sa.VARCHAR(length=16), nullable=False)
        batch_op.drop_column("version")
        batch_op.drop_column("http")
        batch_op.drop_column("kind")

    op.drop_table("event_versions")


# The settings a version keeps, as the events table has them at this revision.
VERSIONED = (
    "name", "kind", "language", "script", "http", "env", "timeout_seconds", "cpus",
    "memory_mb", "pids", "network", "max_attempts", "retry_backoff_seconds",
    "retry_backoff_max_seconds", "pool", "schedule", "missed_runs", "catch_up_seconds",
    "concurrency", "max_concurrent", "max_executions", "actions",
)  # fmt: skip
JSON_COLUMNS = ("http", "env", "schedule", "actions")


def _first_versions() -> None:
    """Every event there is gets its current script and settings as version 1."""
    events = sa.table(
        "events",
        sa.column("id"),
        *(sa.column(name, sa.JSON() if name in JSON_COLUMNS else None) for name in VERSIONED),
    )
    versions = sa.table(
        "event_versions",
        sa.column("event_id"),
        sa.column("version"),
        sa.column("settings", sa.JSON()),
        sa.column("created_at", cronium.storage.tables.UTCDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {"event_id": row.id, "version": 1, "settings": {n: row._mapping[n] for n in VERSIONED},
         "created_at": now}
        for row in op.get_bind().execute(sa.select(events))
    ]  # fmt: skip
    if rows:
        op.bulk_insert(versions, rows)
