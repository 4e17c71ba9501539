"""The queries of execution retention: which ended executions are due to go, and their
deletion in short transactions (see cronium.retention for the policy and docs/retention.md).

An execution is prunable when it has ended and nothing still going needs it: it is not a
workflow run with a node still pending or running, and no workflow run that has not ended
holds it (as a node's execution, or as its ``parent_id``). Among the prunable ones, an
execution is due when it ended before the cutoff, or when its event has ``keep`` or more
ended executions newer than it (newest by id: ids follow the order executions were queued).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import aliased

from cronium.domain.execution import TERMINAL_STATUSES, ExecutionStatus
from cronium.domain.workflow import NodeStatus
from cronium.errors import StorageError
from cronium.storage.tables import ExecutionRow, LogLineRow, WorkflowNodeRow
from cronium.storage.transactions import Database

ENDED = sorted(status.value for status in TERMINAL_STATUSES)
GOING = sorted(status.value for status in ExecutionStatus if not status.is_terminal)
NODES_GOING = [NodeStatus.PENDING.value, NodeStatus.RUNNING.value]


@dataclass(frozen=True, slots=True)
class DueOfEvent:
    """What is due to go of one event: how many executions, ended when (first and last)."""

    event_id: int
    executions: int
    oldest: datetime
    newest: datetime


@dataclass(frozen=True, slots=True)
class Deleted:
    """Rows one deletion took away."""

    executions: int = 0
    log_lines: int = 0


def ended_at() -> ColumnElement[Any]:
    """When an execution ended (one cancelled while queued may have no finish time)."""
    return func.coalesce(ExecutionRow.finished_at, ExecutionRow.queued_at)


def prunable(execution_id: Any, parent_id: Any) -> ColumnElement[bool]:
    """The execution of these columns is needed by nothing still going (see the module)."""
    run = aliased(ExecutionRow)
    going_runs = select(run.id).where(run.status.in_(GOING))
    held = (
        select(WorkflowNodeRow.execution_id)
        .join(run, run.id == WorkflowNodeRow.run_id)
        .where(run.status.in_(GOING), WorkflowNodeRow.execution_id.is_not(None))
    )
    nodes_going = exists().where(
        WorkflowNodeRow.run_id == execution_id, WorkflowNodeRow.status.in_(NODES_GOING)
    )
    return and_(
        or_(parent_id.is_(None), parent_id.not_in(going_runs)),
        execution_id.not_in(held),
        ~nodes_going,
    )


def _has_ended() -> ColumnElement[bool]:
    """Ended, written so that no plan reads the (many) ended rows through the index on the
    status: the few still going are what that index finds well."""
    return ExecutionRow.status.not_in(GOING)


class Retention:
    """Named operations of execution retention, over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def aged(self, before: datetime, limit: int) -> list[int]:
        """Up to ``limit`` prunable executions that ended before ``before``, oldest first.

        Read in id order, so each batch stops after about ``limit`` rows read (the oldest go
        first): no batch sorts or scans the whole table."""
        query = (
            select(ExecutionRow.id)
            .where(
                _has_ended(),
                ended_at() < before,
                prunable(ExecutionRow.id, ExecutionRow.parent_id),
            )
            .order_by(ExecutionRow.id)
            .limit(limit)
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def crowded(self, keep: int) -> list[int]:
        """The events with more than ``keep`` executions: those that may have more than
        ``keep`` ended ones (:meth:`boundary` tells). Counted from the index on the event
        alone, without reading a row."""
        counted = (
            select(ExecutionRow.event_id)
            .group_by(ExecutionRow.event_id)
            .having(func.count() > keep)
            .order_by(ExecutionRow.event_id)
        )
        async with self.db.read() as session:
            return list(await session.scalars(counted))

    async def boundary(self, event_id: int, keep: int) -> int | None:
        """The id of the event's ``keep``-th newest ended execution: those below it are
        beyond the count (None: it has no more than ``keep``)."""
        query = (
            select(ExecutionRow.id)
            .where(ExecutionRow.event_id == event_id, ExecutionRow.status.in_(ENDED))
            .order_by(ExecutionRow.id.desc())
            .offset(keep - 1)
            .limit(1)
        )
        async with self.db.read() as session:
            found = await session.scalar(query)
        return None if found is None else int(found)

    async def beyond(self, event_id: int, below_id: int, limit: int) -> list[int]:
        """Up to ``limit`` prunable ended executions of the event older than ``below_id``."""
        query = (
            select(ExecutionRow.id)
            .where(
                ExecutionRow.event_id == event_id,
                ExecutionRow.id < below_id,
                _has_ended(),
                prunable(ExecutionRow.id, ExecutionRow.parent_id),
            )
            .order_by(ExecutionRow.id)
            .limit(limit)
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def delete_lines(self, execution_ids: list[int], limit: int) -> int:
        """Delete up to ``limit`` log lines of these executions in one transaction; how many
        went (fewer than ``limit``: none are left)."""
        some = select(LogLineRow.id).where(LogLineRow.execution_id.in_(execution_ids)).limit(limit)
        async with self.db.write() as unit:
            result = await unit.session.execute(delete(LogLineRow).where(LogLineRow.id.in_(some)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def delete_executions(self, execution_ids: list[int]) -> int:
        """Delete those of these executions that are still ended and prunable (their workflow
        nodes and any log line left go with them, by cascade); how many went."""
        doomed = delete(ExecutionRow).where(
            ExecutionRow.id.in_(execution_ids),
            _has_ended(),
            prunable(ExecutionRow.id, ExecutionRow.parent_id),
        )
        async with self.db.write() as unit:
            result = await unit.session.execute(doomed)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def due(self, before: datetime, keep: int) -> list[DueOfEvent]:
        """Every execution due to go now, by event (for a dry run: one read, not batched).

        The same rule as :meth:`aged` and :meth:`crowded` with :meth:`beyond`, in one query
        with a window function."""
        ranked = (
            select(
                ExecutionRow.id,
                ExecutionRow.event_id,
                ExecutionRow.parent_id,
                ended_at().label("ended"),
                func.row_number()
                .over(partition_by=ExecutionRow.event_id, order_by=ExecutionRow.id.desc())
                .label("rank"),
            )
            .where(ExecutionRow.status.in_(ENDED))
            .subquery()
        )
        query = (
            select(
                ranked.c.event_id,
                func.count(),
                func.min(ranked.c.ended),
                func.max(ranked.c.ended),
            )
            .where(
                or_(ranked.c.ended < before, ranked.c.rank > keep),
                prunable(ranked.c.id, ranked.c.parent_id),
            )
            .group_by(ranked.c.event_id)
            .order_by(ranked.c.event_id)
        )
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
        return [DueOfEvent(row[0], int(row[1]), row[2], row[3]) for row in rows]

    async def reclaim(self, pages: int) -> int:
        """On SQLite, give up to ``pages`` free pages back to the file system (incremental
        vacuum, see migration 0015); how many free pages are left. PostgreSQL's autovacuum
        does this on its own: 0 there."""
        if self.db.dialect != "sqlite":
            return 0
        async with self.db.engine.connect() as connection:
            driver: Any = (await connection.get_raw_connection()).driver_connection
            try:
                # Python's sqlite3 steps a statement once, and this pragma frees one page a
                # step: only a script runs it through. It is its own short write transaction
                # (a script cannot run inside one), waiting in SQLite's busy handler for its
                # turn.
                await driver.executescript(f"PRAGMA incremental_vacuum({int(pages)})")
                cursor = await driver.execute("PRAGMA freelist_count")
                row = await cursor.fetchone()
            except (sqlite3.Error, OSError) as exc:
                raise StorageError(f"the database failed: {exc}") from exc
        return int(row[0]) if row else 0
