"""SQLite databases switched to incremental auto-vacuum, so that the space of pruned
executions goes back to the file system (see docs/retention.md)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:50:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op
from sqlalchemy import Connection

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INCREMENTAL = 2  # what PRAGMA auto_vacuum answers: 0 none, 1 full, 2 incremental


def upgrade() -> None:
    _set_auto_vacuum("INCREMENTAL", INCREMENTAL)


def downgrade() -> None:
    _set_auto_vacuum("NONE", 0)


def _set_auto_vacuum(mode: str, number: int) -> None:
    """The mode takes effect on a database with tables only through a VACUUM, which rewrites
    the file (a fresh database too: its tables were made by the migrations before). PostgreSQL
    has its own autovacuum: nothing to do there."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA auto_vacuum").scalar() == number:
        return
    with _outside_the_transaction(bind):
        bind.exec_driver_sql(f"PRAGMA auto_vacuum={mode}")
        bind.exec_driver_sql("VACUUM")


@contextmanager
def _outside_the_transaction(bind: Connection) -> Iterator[None]:
    """An autocommit block on SQLite: VACUUM cannot run in a transaction.

    ``migrate()`` runs every migration in one transaction that it began (so alembic's own
    ``autocommit_block``, which only ends transactions alembic began, cannot be used). Its
    SQLite connections leave transactions to SQLAlchemy, which issues BEGIN itself (see
    ``storage/database.py``): ending that transaction here and beginning a new one after is
    what an autocommit block does. As with one, what the migrations before did is committed
    first."""
    bind.exec_driver_sql("COMMIT")
    try:
        yield
    finally:
        bind.exec_driver_sql("BEGIN")
