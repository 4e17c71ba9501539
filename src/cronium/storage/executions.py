"""Executions: reading them, and the one guarded write that changes a status.

Every status change of an execution or of a workflow node goes through
:func:`change_status` or :func:`change_node_status`: the transition is checked against the
state machine, and the UPDATE changes only the rows still in the expected status, so of
concurrent workers, schedulers and API processes exactly one wins; the caller sees which rows
it changed (none when it lost).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select, update

from cronium.domain.execution import Execution, ExecutionStatus, check_transition
from cronium.domain.workflow import NodeStatus, check_node_transition
from cronium.errors import LeaseLostError, NotFoundError
from cronium.storage import shares
from cronium.storage.notifications import END, announce
from cronium.storage.rows import execution_of
from cronium.storage.tables import EventRow, ExecutionRow, WorkflowNodeRow
from cronium.storage.transactions import Database, Unit

# (execution id, worker id): a write allowed only while that worker runs that execution
Holder = tuple[int, str]
NODES = cast(Table, WorkflowNodeRow.__table__)


@dataclass(frozen=True)
class QueueState:
    queued: int
    running: int
    oldest_due_at: datetime | None  # when the longest-waiting queued execution became due


async def change_status(
    unit: Unit,
    expected: ExecutionStatus,
    target: ExecutionStatus,
    *where: ColumnElement[bool],
    **values: Any,
) -> list[ExecutionRow]:
    """Move the executions that match ``where`` and are still ``expected`` to ``target``
    (setting ``values`` too); the rows changed, as they are now."""
    check_transition(expected, target)
    statement = (
        update(ExecutionRow)
        .where(ExecutionRow.status == expected, *where)
        .values(status=target, **values)
        .returning(ExecutionRow)
        # rows loaded before take the updated values, not the loaded ones
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    changed = list(await unit.session.scalars(statement))
    for row in changed if target.is_terminal else ():
        await announce(unit, row.id, END)  # to the followers of its log (cronium.follow)
    return changed


async def change_one(
    unit: Unit,
    execution_id: int,
    expected: ExecutionStatus,
    target: ExecutionStatus,
    *where: ColumnElement[bool],
    **values: Any,
) -> ExecutionRow | None:
    """:func:`change_status` of one execution; None if it was not ``expected`` (any more)."""
    changed = await change_status(
        unit, expected, target, ExecutionRow.id == execution_id, *where, **values
    )
    return changed[0] if changed else None


async def change_node_status(
    unit: Unit,
    run_id: int,
    names: Collection[str],
    expected: Collection[NodeStatus],
    target: NodeStatus,
    **values: Any,
) -> int:
    """Move the nodes ``names`` of a run that are in one of the ``expected`` statuses to
    ``target``; how many changed. (Core, not the ORM: nodes are many and their rows are not
    handed back; whoever reads them again in the transaction asks for fresh rows.)"""
    for status in expected:
        check_node_transition(status, target)
    if not names:
        return 0
    await unit.session.flush()  # a Core statement does not flush what the session holds
    statement = (
        update(NODES)
        .where(
            NODES.c.run_id == run_id,
            NODES.c.node.in_(list(names)),
            NODES.c.status.in_([status.value for status in expected]),
        )
        .values(status=target.value, **values)
    )
    result = await unit.session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def check_holder(unit: Unit, held_by: Holder | None) -> None:
    """LeaseLostError unless execution ``held_by[0]`` runs on worker ``held_by[1]``."""
    if held_by is None:
        return
    execution_id, worker_id = held_by
    holder = await unit.session.scalar(
        select(ExecutionRow.worker_id).where(
            ExecutionRow.id == execution_id,
            ExecutionRow.status == ExecutionStatus.RUNNING.value,
        )
    )
    if holder != worker_id:
        raise LeaseLostError(
            f"execution {execution_id} is not running on worker {worker_id!r}", execution_id
        )


class Executions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, execution_id: int) -> Execution:
        async with self.db.read() as session:
            row = await session.get(ExecutionRow, execution_id)
        if row is None:
            raise NotFoundError(f"no execution has id {execution_id}")
        return execution_of(row)

    async def latest(
        self,
        *,
        event_id: int | None,
        visible_to: int | None,
        limit: int,
        before_id: int | None = None,
        statuses: Collection[ExecutionStatus] = (),
    ) -> list[Execution]:
        """Newest first, filtered by event, by status, to ids below ``before_id`` (the next
        page) and, when given, to the events a user owns or that are shared with them."""
        query = select(ExecutionRow).order_by(ExecutionRow.id.desc()).limit(limit)
        if event_id is not None:
            query = query.where(ExecutionRow.event_id == event_id)
        if before_id is not None:
            query = query.where(ExecutionRow.id < before_id)
        if statuses:
            query = query.where(ExecutionRow.status.in_([status.value for status in statuses]))
        if visible_to is not None:
            query = query.join(EventRow, EventRow.id == ExecutionRow.event_id).where(
                shares.visible_to(visible_to)
            )
        async with self.db.read() as session:
            return [execution_of(row) for row in await session.scalars(query)]

    async def last_per_event(self, *, visible_to: int | None, limit: int) -> list[Execution]:
        """The newest execution of each event, newest first."""
        newest = select(func.max(ExecutionRow.id)).group_by(ExecutionRow.event_id)
        query = (
            select(ExecutionRow)
            .where(ExecutionRow.id.in_(newest))
            .order_by(ExecutionRow.id.desc())
            .limit(limit)
        )
        if visible_to is not None:
            query = query.join(EventRow, EventRow.id == ExecutionRow.event_id).where(
                shares.visible_to(visible_to)
            )
        async with self.db.read() as session:
            return [execution_of(row) for row in await session.scalars(query)]

    async def waiting(self, *, visible_to: int | None) -> QueueState:
        """How many executions are queued and running, and since when the oldest queued
        one has been due; one aggregate query."""
        due = func.coalesce(ExecutionRow.due_at, ExecutionRow.queued_at)
        queued = ExecutionRow.status == ExecutionStatus.QUEUED.value
        query = select(
            func.count().filter(queued),
            func.count().filter(ExecutionRow.status == ExecutionStatus.RUNNING.value),
            func.min(due).filter(queued),
        ).where(
            ExecutionRow.status.in_([ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value])
        )
        if visible_to is not None:
            query = query.join(EventRow, EventRow.id == ExecutionRow.event_id).where(
                shares.visible_to(visible_to)
            )
        async with self.db.read() as session:
            queued_count, running_count, oldest = (await session.execute(query)).one()
        return QueueState(queued=queued_count, running=running_count, oldest_due_at=oldest)
