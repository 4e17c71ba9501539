"""The queue: enqueue, claim, heartbeat, record, release, cancel, requeue what was lost.

Every status change goes through the guarded write of ``executions.py``, so concurrent
workers, schedulers and API processes can never both win. PostgreSQL picks rows with FOR
UPDATE SKIP LOCKED and announces new work and cancellations with NOTIFY. What follows an
execution's end is applied by ``endings.py`` in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CTE, ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from cronium.domain.event import Event, EventKind
from cronium.domain.execution import Execution, ExecutionStatus, check_transition, start_retry_delay
from cronium.domain.worker import DEFAULT_LEASE
from cronium.errors import ConflictError, InvalidTransitionError, LeaseLostError, NotFoundError
from cronium.metrics import NO_BACKEND, REQUEUED, backend_of, count_ended, language_of
from cronium.storage.endings import finish, say_finished, say_status
from cronium.storage.executions import change_one, change_status
from cronium.storage.logs import LogLine, insert_logs
from cronium.storage.rows import asdict_shallow, event_of, execution_of, new_execution
from cronium.storage.runs import apply_step, cancel_run, end_run, lock_run_of, start_run
from cronium.storage.tables import EventRow, ExecutionRow, LogLineRow
from cronium.storage.transactions import CANCEL_CHANNEL, QUEUE_CHANNEL, Database, Unit

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost: {worker} stopped renewing its lease"
CLAIM_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a finished run leaves on its execution (``output`` and ``condition``: None keeps
    what is stored)."""

    status: ExecutionStatus
    finished_at: datetime
    output: Any = None
    condition: bool | None = None
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    oom_killed: bool = False
    error: str | None = None
    setup_seconds: float | None = None
    run_seconds: float | None = None
    cleanup_seconds: float | None = None
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Requeued:
    """An execution whose worker was lost, and the new attempt made for it (if any)."""

    lost: Execution
    retry: Execution | None


def _claimable(pools: Collection[str], now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Queued executions a worker of ``pools`` may take now: of no pool or of one of its
    pools, and not waiting for a retry's backoff."""
    allowed: ColumnElement[bool] = ExecutionRow.pool.is_(None)
    if pools:
        allowed = or_(allowed, ExecutionRow.pool.in_(list(pools)))
    due = or_(ExecutionRow.due_at.is_(None), ExecutionRow.due_at <= now)
    return allowed, due


def _values_of(record: RunRecord) -> dict[str, Any]:
    """What the record sets on its execution besides the status."""
    values = asdict_shallow(record)
    del values["status"]
    for name in ("output", "condition"):
        if values[name] is None:
            del values[name]
    return values


class Queue:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(
        self,
        event_id: int,
        *,
        input: Any,
        now: datetime,
        priority: int = 0,
        trigger: str = "manual",
    ) -> Execution:
        """Queue a first attempt of the event now (its pool comes from the event)."""
        try:
            async with self.db.write() as unit:
                event = await unit.event(event_id)
                if event is None:
                    raise NotFoundError(f"no event has id {event_id}")
                row = new_execution(event_id, input=input, now=now, priority=priority)
                row.pool, row.trigger = event.pool, trigger
                unit.session.add(row)
                await unit.session.flush()
                await unit.notify(QUEUE_CHANNEL)
        except IntegrityError as exc:
            raise NotFoundError(f"no event has id {event_id}") from exc
        queued = execution_of(row)
        say_status(queued, f"queued ({trigger})", trigger=trigger)
        return queued

    async def claim(
        self,
        worker_id: str,
        now: datetime,
        *,
        lease: timedelta = DEFAULT_LEASE,
        pools: Collection[str] = (),
        limit: int = 1,
    ) -> list[tuple[Execution, Event]]:
        """Move up to ``limit`` of the most urgent queued executions to running for this worker.

        One conditional UPDATE: highest priority first, then oldest; only executions of no pool
        or of one of ``pools``. On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED so
        concurrent workers never wait on each other; on SQLite the statement holds the write
        lock. Either way each row changes for exactly one worker.
        """
        # A CTE, not "id IN (SELECT ... LIMIT n)": PostgreSQL may evaluate such a subquery
        # once per row it updates, each time picking (and locking) another row.

        def picked(count: int) -> CTE:
            return (
                select(ExecutionRow.id)
                .where(ExecutionRow.status == ExecutionStatus.QUEUED, *_claimable(pools, now))
                .order_by(ExecutionRow.priority.desc(), ExecutionRow.queued_at, ExecutionRow.id)
                .limit(count)
                .with_for_update(skip_locked=True)
                .cte("picked")
            )

        claimed: list[tuple[ExecutionRow, Event]] = []
        async with self.db.write() as unit:
            # A workflow run is started here, not handed out; its first nodes are then
            # claimable in the same transaction, hence a few rounds.
            for _ in range(CLAIM_ROUNDS):
                rows = await change_status(
                    unit,
                    ExecutionStatus.QUEUED,
                    ExecutionStatus.RUNNING,
                    ExecutionRow.id == picked(limit - len(claimed)).c.id,
                    worker_id=worker_id,
                    started_at=now,
                    lease_expires_at=now + lease,
                )
                if not rows:
                    break
                events = await unit.events(row.event_id for row in rows)
                started = False
                for row in rows:
                    event = events[row.event_id]
                    row.event_version = event.version  # the version that runs, even if changed
                    if event.kind == EventKind.WORKFLOW:
                        await self._start_run(unit, row, event, now)
                        started = True
                    else:
                        claimed.append((row, event_of(event)))
                if not started or len(claimed) >= limit:
                    break
        claimed.sort(key=lambda pair: (-pair[0].priority, pair[0].queued_at, pair[0].id))
        return [(execution_of(row), event) for row, event in claimed]

    @staticmethod
    async def _start_run(unit: Unit, run: ExecutionRow, event: EventRow, now: datetime) -> None:
        step = await start_run(unit, run, event)
        for node in await apply_step(unit, run, step, now):
            say_status(execution_of(node), "queued", trigger=node.trigger)
        if step.outcome is not None:  # no node could start
            ended = await end_run(unit, run, step.outcome, now)
            if ended is not None:
                finished = await finish(unit, ended, now)
                finished.runs_ended.insert(0, ended)
                say_finished(finished)

    async def renew_leases(
        self, worker_id: str, now: datetime, lease: timedelta, held: Collection[int] | None = None
    ) -> set[int]:
        """Extend the leases of the executions this worker runs (of those it ``held`` in hand,
        if given: one it lost track of expires and is failed as lost); the ids renewed."""
        if held is not None and not held:
            return set()
        renew = (
            update(ExecutionRow)
            .where(
                ExecutionRow.worker_id == worker_id,
                ExecutionRow.status == ExecutionStatus.RUNNING,
                *([] if held is None else [ExecutionRow.id.in_(list(held))]),
            )
            .values(lease_expires_at=now + lease)
            .returning(ExecutionRow.id)
        )
        async with self.db.write() as unit:
            return set(await unit.session.scalars(renew))

    async def record(
        self,
        execution_id: int,
        worker_id: str,
        record: RunRecord,
        logs: Sequence[LogLine] = (),
        retry_jitter: float = 0.5,
    ) -> Execution:
        """Store a finished run (and its last log lines) on a running execution of the worker.

        A failure or timeout with attempts left queues the next attempt in the same
        transaction, due after an exponential backoff (``retry_jitter`` in [0, 1) spreads it).
        """
        ended, _ = await self.record_and_continue(
            execution_id, worker_id, record, logs, retry_jitter
        )
        return ended

    async def record_and_continue(
        self,
        execution_id: int,
        worker_id: str,
        record: RunRecord,
        logs: Sequence[LogLine] = (),
        retry_jitter: float = 0.5,
        *,
        pools: Collection[str] | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> tuple[Execution, tuple[Execution, Event] | None]:
        """:meth:`record`; then, given the worker's ``pools``, if the end made a node of the
        same workflow run ready, claim it for the worker in the same transaction (the worker
        goes on with it at once: no trip through the queue)."""
        if not record.status.is_terminal:
            raise InvalidTransitionError(f"a run's record ends it: {record.status} is not an end")
        async with self.db.write() as unit:
            await lock_run_of(unit, execution_id)
            row = await change_one(
                unit,
                execution_id,
                ExecutionStatus.RUNNING,
                record.status,
                ExecutionRow.worker_id == worker_id,
                **_values_of(record),
                lease_expires_at=None,
            )
            if row is None:
                await _refuse_record(unit, execution_id, worker_id, record)
            assert row is not None
            await insert_logs(unit, execution_id, logs)
            finished = await finish(unit, row, record.finished_at, jitter=retry_jitter)
            following = None
            if pools is not None and row.parent_id is not None:
                following = await _take_node(
                    unit, row.parent_id, finished.nodes, worker_id, record.finished_at, lease, pools
                )
        say_finished(finished)
        return execution_of(row), following

    async def release(
        self, execution_id: int, worker_id: str, now: datetime, reason: str
    ) -> Execution:
        """Give back a running execution whose sandbox this worker could not set up (its
        script never started): queued again, the same attempt, due after
        ``start_retry_delay``, with ``reason`` kept in its error until it ends. What it logged
        (a backend's complaint) goes; LeaseLostError if it no longer runs on this worker."""
        async with self.db.write() as unit:
            row = await change_one(
                unit,
                execution_id,
                ExecutionStatus.RUNNING,
                ExecutionStatus.QUEUED,
                ExecutionRow.worker_id == worker_id,
                worker_id=None,
                started_at=None,
                lease_expires_at=None,
                event_version=None,
                start_failures=ExecutionRow.start_failures + 1,
                error=reason,
            )
            if row is None:
                raise LeaseLostError(
                    f"execution {execution_id} is not running on worker {worker_id!r}:"
                    " it is not queued again",
                    execution_id,
                )
            row.due_at = now + start_retry_delay(row.start_failures)
            await unit.session.execute(
                delete(LogLineRow).where(LogLineRow.execution_id == execution_id)
            )
            await unit.notify(QUEUE_CHANNEL)
            return execution_of(row)

    async def cancel(self, execution_id: int, now: datetime) -> Execution:
        """Cancel a queued execution at once, ask the worker of a running one to stop it, or
        cancel a workflow run with its nodes."""
        async with self.db.write() as unit:
            await lock_run_of(unit, execution_id)
            row = await unit.session.scalar(
                select(ExecutionRow).where(ExecutionRow.id == execution_id).with_for_update()
            )
            if row is None:
                raise NotFoundError(f"no execution has id {execution_id}")
            ended, event = None, None
            if row.status == ExecutionStatus.QUEUED:
                ended = await change_one(
                    unit,
                    execution_id,
                    ExecutionStatus.QUEUED,
                    ExecutionStatus.CANCELLED,
                    finished_at=now,
                    error="cancelled before it started",
                )
            elif row.status == ExecutionStatus.RUNNING and row.worker_id is None:
                ended = await cancel_run(unit, row, now)  # a workflow run
            elif row.status == ExecutionStatus.RUNNING:
                row.cancel_requested_at = now
                await unit.notify(CANCEL_CHANNEL, str(execution_id))
            else:
                raise ConflictError(f"execution {execution_id} has already ended ({row.status})")
            if ended is not None:
                finished = await finish(unit, ended, now)
                event = await unit.event(row.event_id)
            cancelled = execution_of(row)
        if ended is not None:
            say_finished(finished)
            _count_without_worker(cancelled, event)
            say_status(cancelled, "cancelled before it ran")
        return cancelled

    async def cancel_requests(self, worker_id: str) -> list[int]:
        """Running executions of this worker that someone asked to cancel."""
        query = select(ExecutionRow.id).where(
            ExecutionRow.worker_id == worker_id,
            ExecutionRow.status == ExecutionStatus.RUNNING,
            ExecutionRow.cancel_requested_at.is_not(None),
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def requeue_expired(self, now: datetime) -> list[Requeued]:
        """Fail the running executions whose lease expired and queue a retry where allowed.

        Safe to call from every worker and scheduler at once: each lost execution is failed by
        exactly one conditional update, and only its winner queues the retry.
        """
        expired = (
            select(ExecutionRow.id)
            .where(
                ExecutionRow.status == ExecutionStatus.RUNNING,
                ExecutionRow.lease_expires_at < now,
            )
            .limit(100)
        )
        async with self.db.read() as session:
            candidates = list(await session.scalars(expired))
        done = []
        for execution_id in candidates:
            requeued = await self._requeue_one(execution_id, now)
            if requeued is not None:
                done.append(requeued)
        return done

    async def _requeue_one(self, execution_id: int, now: datetime) -> Requeued | None:
        async with self.db.write() as unit:
            await lock_run_of(unit, execution_id)
            worker = await unit.session.scalar(
                select(ExecutionRow.worker_id).where(ExecutionRow.id == execution_id)
            )
            failed = await change_one(
                unit,
                execution_id,
                ExecutionStatus.RUNNING,
                ExecutionStatus.FAILED,
                ExecutionRow.lease_expires_at < now,
                finished_at=now,
                lease_expires_at=None,
                error=WORKER_LOST.format(worker=worker),
            )
            if failed is None:
                return None
            finished = await finish(unit, failed, now, lost=True)
            retry = finished.retry
            event = await unit.event(failed.event_id)
        say_finished(finished, but=retry)  # the lost run's line names its retry itself
        requeued = Requeued(execution_of(failed), None if retry is None else execution_of(retry))
        _count_lost(requeued, event)
        return requeued

    async def depth_by_pool(self) -> dict[str | None, int]:
        """How many executions are queued, by pool (None: of no pool); one aggregate query."""
        query = (
            select(ExecutionRow.pool, func.count())
            .where(ExecutionRow.status == ExecutionStatus.QUEUED)
            .group_by(ExecutionRow.pool)
        )
        async with self.db.read() as session:
            rows = await session.execute(query)
        return {pool: count for pool, count in rows}


def _count_without_worker(execution: Execution, event: EventRow | None) -> None:
    """An execution that ended here, with no worker running it."""
    kind, language = (event.kind, event.language) if event is not None else ("script", None)
    count_ended(execution, language=language_of(kind, language), backend=NO_BACKEND)


def _count_lost(requeued: Requeued, event: EventRow | None) -> None:
    """An execution failed as lost with its worker (and its retry, if any, queued)."""
    REQUEUED.inc()
    lost, retry = requeued.lost, requeued.retry
    kind, language = (event.kind, event.language) if event is not None else ("script", None)
    backend = backend_of(kind, NO_BACKEND)
    count_ended(lost, language=language_of(kind, language), backend=backend)
    worker = lost.worker_id
    again = f"; queued again as {retry.id}" if retry is not None else ""
    say_status(lost, f"failed: its worker {worker} was lost{again}", logging.WARNING, worker=worker)
    if retry is not None:
        say_status(retry, f"queued, a retry of execution {lost.id}", retry_of=lost.id)


async def _refuse_record(unit: Unit, execution_id: int, worker_id: str, record: RunRecord) -> None:
    current = await unit.session.get(ExecutionRow, execution_id)
    if current is None:
        raise NotFoundError(f"no execution has id {execution_id}")
    if not ExecutionStatus(current.status).is_terminal:
        check_transition(ExecutionStatus(current.status), record.status)
    raise LeaseLostError(
        f"execution {execution_id} is not running on worker {worker_id!r}"
        f" (it is {current.status}): the result is not stored",
        execution_id,
    )


async def _take_node(
    unit: Unit,
    run_id: int,
    queued: list[ExecutionRow],
    worker_id: str,
    now: datetime,
    lease: timedelta,
    pools: Collection[str],
) -> tuple[Execution, Event] | None:
    """Claim a queued node of the run for the worker, if there is one it may take: one
    this transaction ``queued``, or else one queued before."""
    allowed = set(pools)
    candidate = next(
        (
            row.id
            for row in queued
            if row.parent_id == run_id and (row.pool is None or row.pool in allowed)
        ),
        None,
    )
    if candidate is None and not queued:
        candidate = await unit.session.scalar(
            select(ExecutionRow.id)
            .where(
                ExecutionRow.parent_id == run_id,
                ExecutionRow.status == ExecutionStatus.QUEUED,
                *_claimable(pools, now),
            )
            .order_by(ExecutionRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    if candidate is None:
        return None
    row = await unit.session.get(ExecutionRow, candidate)
    event = None if row is None else await unit.event(row.event_id)
    if row is None or event is None or event.kind == EventKind.WORKFLOW:
        return None
    taken = await change_one(
        unit,
        row.id,
        ExecutionStatus.QUEUED,
        ExecutionStatus.RUNNING,
        worker_id=worker_id,
        started_at=now,
        lease_expires_at=now + lease,
        event_version=event.version,
    )
    return None if taken is None else (execution_of(taken), event_of(event))
