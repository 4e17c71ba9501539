"""Alembic environment: runs on the connection handed over by ``cronium.storage.database``."""

from __future__ import annotations

from alembic import context

from cronium.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `cronium db upgrade` (it opens the configured database)"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
