"""write_probes: the row /readyz rewrites to learn whether writes work

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 21:30:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import cronium.storage.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    probes = op.create_table(
        "write_probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("written_at", cronium.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_probes")),
    )
    op.bulk_insert(probes, [{"id": 1, "written_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("write_probes")
