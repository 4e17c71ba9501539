"""The queue's named operations: enqueue, claim, heartbeat, record, cancel, requeue_expired.

Every state change is a conditional UPDATE that changes exactly the rows still in the expected
state, so concurrent workers, schedulers and API processes can never both win. PostgreSQL picks
rows with FOR UPDATE SKIP LOCKED and announces new work and cancellations with NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CTE, ColumnElement, Table, delete, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate

from cronium.domain.action import Action, actions_to_run
from cronium.domain.event import Event, EventKind, EventStatus
from cronium.domain.execution import (
    Execution,
    ExecutionStatus,
    check_transition,
    may_retry,
    retry_delay,
    should_retry,
    start_retry_delay,
)
from cronium.domain.worker import DEFAULT_LEASE
from cronium.errors import (
    ConflictError,
    InvalidTransitionError,
    LeaseLostError,
    NotFoundError,
    StorageError,
)
from cronium.storage.gateway import CANCEL_CHANNEL, QUEUE_CHANNEL, storage_error
from cronium.storage.rows import asdict_shallow, event_of, execution_of, new_execution
from cronium.storage.tables import EventRow, ExecutionRow, LogLineRow
from cronium.storage.workflows import WorkflowOperations
from cronium.supervision import LoopHealth

WORKER_LOST = "worker lost: {worker} stopped renewing its lease"
CLAIM_ROUNDS = 4


LISTENER_CHECK_SECONDS = 2.0
LOG_LINES = cast(Table, LogLineRow.__table__)  # its lines go in by Core: no ORM per line


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a script wrote, with its stream and the moment it arrived."""

    seq: int
    stream: str
    at: datetime
    line: str


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
    return ExecutionRow.status == ExecutionStatus.QUEUED, allowed, due


def _take(
    picked: CTE, worker_id: str, now: datetime, lease: timedelta
) -> ReturningUpdate[ExecutionRow]:
    """Move the picked executions to running for the worker."""
    return (
        update(ExecutionRow)
        .where(ExecutionRow.id == picked.c.id, ExecutionRow.status == ExecutionStatus.QUEUED)
        .values(
            status=ExecutionStatus.RUNNING,
            worker_id=worker_id,
            started_at=now,
            lease_expires_at=now + lease,
        )
        .returning(ExecutionRow)
        .execution_options(synchronize_session=False)
    )


def _values_of(record: RunRecord) -> dict[str, Any]:
    values = asdict_shallow(record)
    for name in ("output", "condition"):
        if values[name] is None:
            del values[name]
    return values


class QueueOperations(WorkflowOperations):
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
            async with self._write() as session:
                event = await session.get(EventRow, event_id)
                if event is None:
                    raise NotFoundError(f"no event has id {event_id}")
                row = new_execution(event_id, input=input, now=now, priority=priority)
                row.pool, row.trigger = event.pool, trigger
                session.add(row)
                await session.flush()
                await self._notify(session, QUEUE_CHANNEL)
        except IntegrityError as exc:
            raise NotFoundError(f"no event has id {event_id}") from exc
        return execution_of(row)

    async def claim_next(
        self,
        worker_id: str,
        now: datetime,
        *,
        lease: timedelta = DEFAULT_LEASE,
        pools: Collection[str] = (),
    ) -> tuple[Execution, Event] | None:
        """Move the most urgent queued execution this worker may take to running, or None."""
        claimed = await self.claim(worker_id, now, lease=lease, pools=pools, limit=1)
        return claimed[0] if claimed else None

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
        check_transition(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        # A CTE, not "id IN (SELECT ... LIMIT n)": PostgreSQL may evaluate such a subquery
        # once per row it updates, each time picking (and locking) another row.

        def picked(count: int) -> CTE:
            return (
                select(ExecutionRow.id)
                .where(*_claimable(pools, now))
                .order_by(ExecutionRow.priority.desc(), ExecutionRow.queued_at, ExecutionRow.id)
                .limit(count)
                .with_for_update(skip_locked=True)
                .cte("picked")
            )

        claimed: list[tuple[ExecutionRow, Event]] = []
        async with self._write() as session:
            # A workflow run is started here, not handed out; its first nodes are then
            # claimable in the same transaction, hence a few rounds.
            for _ in range(CLAIM_ROUNDS):
                take = _take(picked(limit - len(claimed)), worker_id, now, lease)
                rows = list(await session.scalars(take))
                if not rows:
                    break
                events = {
                    event.id: event
                    for event in await session.scalars(
                        select(EventRow).where(EventRow.id.in_({row.event_id for row in rows}))
                    )
                }
                started = False
                for row in rows:
                    event = events[row.event_id]
                    row.event_version = event.version  # the version that runs, even if changed
                    if event.kind == EventKind.WORKFLOW:
                        ended = await self._start_run(session, row, event, now)
                        if ended is not None:
                            await self._after_end(session, ended, now, 0.5)
                        started = True
                    else:
                        claimed.append((row, event_of(event)))
                if not started or len(claimed) >= limit:
                    break
        claimed.sort(key=lambda pair: (-pair[0].priority, pair[0].queued_at, pair[0].id))
        return [(execution_of(row), event) for row, event in claimed]

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
        async with self._write() as session:
            return set(await session.scalars(renew))

    async def append_logs(
        self, execution_id: int, lines: Sequence[LogLine], worker_id: str | None = None
    ) -> None:
        """Store output lines of an execution. With ``worker_id``, only while the execution
        runs on that worker: LeaseLostError otherwise (it was failed as lost, or taken over)."""
        if not lines:
            return
        async with self._write() as session:
            if worker_id is not None:
                await self._check_holder(session, (execution_id, worker_id))
            await _insert_logs(session, execution_id, lines)

    async def _check_holder(self, session: AsyncSession, held_by: tuple[int, str] | None) -> None:
        """LeaseLostError unless execution ``held_by[0]`` runs on worker ``held_by[1]``."""
        if held_by is None:
            return
        execution_id, worker_id = held_by
        holder = await session.scalar(
            select(ExecutionRow.worker_id).where(
                ExecutionRow.id == execution_id,
                ExecutionRow.status == ExecutionStatus.RUNNING.value,
            )
        )
        if holder != worker_id:
            raise LeaseLostError(
                f"execution {execution_id} is not running on worker {worker_id!r}", execution_id
            )

    async def record_run(
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
        """:meth:`record_run`; then, given the worker's ``pools``, if the end made a node of
        the same workflow run ready, claim it for the worker in the same transaction (the
        worker goes on with it at once: no trip through the queue)."""
        if not record.status.is_terminal:
            raise InvalidTransitionError(f"a run's record ends it: {record.status} is not an end")
        check_transition(ExecutionStatus.RUNNING, record.status)
        finish = (
            update(ExecutionRow)
            .where(
                ExecutionRow.id == execution_id,
                ExecutionRow.status == ExecutionStatus.RUNNING,
                ExecutionRow.worker_id == worker_id,
            )
            .values(**_values_of(record), lease_expires_at=None)
            .returning(ExecutionRow)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            await self._lock_run_of(session, execution_id)
            row = await session.scalar(finish)
            if row is None:
                current = await session.get(ExecutionRow, execution_id)
                if current is None:
                    raise NotFoundError(f"no execution has id {execution_id}")
                if not ExecutionStatus(current.status).is_terminal:
                    check_transition(ExecutionStatus(current.status), record.status)
                raise LeaseLostError(
                    f"execution {execution_id} is not running on worker {worker_id!r}"
                    f" (it is {current.status}): the result is not stored",
                    execution_id,
                )
            await _insert_logs(session, execution_id, logs)
            await self._after_end(session, row, record.finished_at, retry_jitter)
            following = None
            if pools is not None and row.parent_id is not None:
                following = await self._take_node(
                    session, row.parent_id, worker_id, record.finished_at, lease, pools
                )
            return execution_of(row), following

    async def release(
        self, execution_id: int, worker_id: str, now: datetime, reason: str
    ) -> Execution:
        """Give back a running execution whose sandbox this worker could not set up (its
        script never started): queued again, the same attempt, due after
        ``start_retry_delay``, with ``reason`` kept in its error until it ends. What it logged
        (a backend's complaint) goes; LeaseLostError if it no longer runs on this worker."""
        check_transition(ExecutionStatus.RUNNING, ExecutionStatus.QUEUED)
        give_back = (
            update(ExecutionRow)
            .where(
                ExecutionRow.id == execution_id,
                ExecutionRow.status == ExecutionStatus.RUNNING,
                ExecutionRow.worker_id == worker_id,
            )
            .values(
                status=ExecutionStatus.QUEUED,
                worker_id=None,
                started_at=None,
                lease_expires_at=None,
                event_version=None,
                start_failures=ExecutionRow.start_failures + 1,
                error=reason,
            )
            .returning(ExecutionRow)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            row = await session.scalar(give_back)
            if row is None:
                raise LeaseLostError(
                    f"execution {execution_id} is not running on worker {worker_id!r}:"
                    " it is not queued again",
                    execution_id,
                )
            row.due_at = now + start_retry_delay(row.start_failures)
            await session.execute(delete(LogLineRow).where(LogLineRow.execution_id == execution_id))
            await self._notify(session, QUEUE_CHANNEL)
            return execution_of(row)

    async def _take_node(
        self,
        session: AsyncSession,
        run_id: int,
        worker_id: str,
        now: datetime,
        lease: timedelta,
        pools: Collection[str],
    ) -> tuple[Execution, Event] | None:
        """Claim a queued node of the run for the worker, if there is one it may take: one
        this transaction queued, or else one queued before."""
        allowed = set(pools)
        started: list[ExecutionRow] = session.info.get("started", [])
        row = next(
            (
                row
                for row in started
                if row.parent_id == run_id
                and row.status == ExecutionStatus.QUEUED
                and (row.pool is None or row.pool in allowed)
            ),
            None,
        )
        if row is None and not started:
            row = await session.scalar(
                select(ExecutionRow)
                .where(ExecutionRow.parent_id == run_id, *_claimable(pools, now))
                .order_by(ExecutionRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        if row is None:
            return None
        event = await self._held_event(session, row.event_id)
        if event is None or event.kind == EventKind.WORKFLOW:
            return None
        row.status, row.worker_id, row.started_at = ExecutionStatus.RUNNING, worker_id, now
        row.lease_expires_at, row.event_version = now + lease, event.version
        return execution_of(row), event_of(event)

    async def _after_end(
        self, session: AsyncSession, ended: ExecutionRow, now: datetime, jitter: float
    ) -> None:
        """What follows the end of an execution: its retry, its event's actions, and, for a
        node of a workflow run, the run moving on (and, if that ended the run, the same for
        the run)."""
        retry = await self._queue_retry(session, ended, now, jitter)
        await self._queue_actions(session, ended, now)
        run = await self._advance(session, ended, now, retry)
        if run is not None:
            await self._after_end(session, run, now, jitter)

    async def _lock_run_of(self, session: AsyncSession, execution_id: int) -> None:
        """Lock the workflow run the execution belongs to (if any) before the execution, the
        order every transaction that touches both follows (no deadlock on PostgreSQL)."""
        if self.dialect != "postgresql":
            return  # SQLite: one writer at a time
        parent = await session.scalar(
            select(ExecutionRow.parent_id).where(ExecutionRow.id == execution_id)
        )
        if parent is not None:
            await session.execute(
                select(ExecutionRow.id).where(ExecutionRow.id == parent).with_for_update()
            )

    async def _queue_retry(
        self, session: AsyncSession, ended: ExecutionRow, now: datetime, jitter: float
    ) -> ExecutionRow | None:
        event = await self._held_event(session, ended.event_id)
        status = ExecutionStatus(ended.status)
        if event is None or not should_retry(status, ended.attempt, event.max_attempts):
            return None
        delay = retry_delay(
            ended.attempt, event.retry_backoff_seconds, event.retry_backoff_max_seconds, jitter
        )
        retry = new_execution(
            ended.event_id, input=ended.input, now=now, priority=ended.priority,
            attempt=ended.attempt + 1,
        )  # fmt: skip
        retry.pool, retry.retry_of = ended.pool, ended.retry_of or ended.id
        retry.trigger, retry.scheduled_at, retry.due_at = (
            ended.trigger,
            ended.scheduled_at,
            now + delay,
        )
        session.add(retry)
        await session.flush()
        await self._notify(session, QUEUE_CHANNEL)
        return retry

    async def _queue_actions(
        self, session: AsyncSession, ended: ExecutionRow, now: datetime
    ) -> None:
        """Queue the events the ended run's conditional actions ask for, with its output."""
        event = await self._held_event(session, ended.event_id)
        actions = (
            tuple(Action.from_json(action) for action in (event.actions or ())) if event else ()
        )
        targets = actions_to_run(actions, ExecutionStatus(ended.status), ended.condition)
        for target_id in targets:
            target = await session.get(EventRow, target_id)
            if target is None or target.status == EventStatus.ARCHIVED:
                continue  # the target was deleted or archived since
            queued = new_execution(target_id, input=ended.output, now=now)
            queued.trigger, queued.pool = "action", target.pool
            session.add(queued)
        if targets:
            await session.flush()
            await self._notify(session, QUEUE_CHANNEL)

    async def cancel(self, execution_id: int, now: datetime) -> Execution:
        """Cancel a queued execution at once, ask the worker of a running one to stop it, or
        cancel a workflow run with its nodes."""
        async with self._write() as session:
            await self._lock_run_of(session, execution_id)
            row = await session.scalar(
                select(ExecutionRow).where(ExecutionRow.id == execution_id).with_for_update()
            )
            if row is None:
                raise NotFoundError(f"no execution has id {execution_id}")
            if row.status == ExecutionStatus.QUEUED:
                row.status, row.finished_at = ExecutionStatus.CANCELLED, now
                row.error = "cancelled before it started"
                await self._after_end(session, row, now, 0.5)
            elif row.status == ExecutionStatus.RUNNING and row.worker_id is None:
                await self._cancel_run(session, row, now)  # a workflow run
            elif row.status == ExecutionStatus.RUNNING:
                row.cancel_requested_at = now
                await self._notify(session, CANCEL_CHANNEL, str(execution_id))
            else:
                raise ConflictError(f"execution {execution_id} has already ended ({row.status})")
            return execution_of(row)

    async def cancel_requests(self, worker_id: str) -> list[int]:
        """Running executions of this worker that someone asked to cancel."""
        query = select(ExecutionRow.id).where(
            ExecutionRow.worker_id == worker_id,
            ExecutionRow.status == ExecutionStatus.RUNNING,
            ExecutionRow.cancel_requested_at.is_not(None),
        )
        async with self._read() as session:
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
        async with self._read() as session:
            candidates = list(await session.scalars(expired))
        done = []
        for execution_id in candidates:
            requeued = await self._requeue_one(execution_id, now)
            if requeued is not None:
                done.append(requeued)
        return done

    async def _requeue_one(self, execution_id: int, now: datetime) -> Requeued | None:
        async with self._write() as session:
            await self._lock_run_of(session, execution_id)
            row = await session.get(ExecutionRow, execution_id)
            if row is None or row.status != ExecutionStatus.RUNNING:
                return None
            if row.lease_expires_at is None or row.lease_expires_at >= now:
                return None
            check_transition(ExecutionStatus.RUNNING, ExecutionStatus.FAILED)
            lost = (
                update(ExecutionRow)
                .where(
                    ExecutionRow.id == execution_id,
                    ExecutionRow.status == ExecutionStatus.RUNNING,
                    ExecutionRow.lease_expires_at < now,
                )
                .values(
                    status=ExecutionStatus.FAILED,
                    finished_at=now,
                    lease_expires_at=None,
                    error=WORKER_LOST.format(worker=row.worker_id),
                )
                .returning(ExecutionRow)
                # the row was loaded above: take the updated values, not the loaded ones
                .execution_options(synchronize_session=False, populate_existing=True)
            )
            failed = await session.scalar(lost)
            if failed is None:
                return None
            event = await session.get(EventRow, failed.event_id)
            retry = None
            if event is not None and may_retry(failed.attempt, event.max_attempts):
                retry = new_execution(
                    failed.event_id,
                    input=failed.input,
                    now=now,
                    priority=failed.priority,
                    attempt=failed.attempt + 1,
                )
                retry.pool, retry.retry_of = failed.pool, failed.retry_of or failed.id
                retry.trigger, retry.scheduled_at = failed.trigger, failed.scheduled_at
                session.add(retry)
                await session.flush()
                await self._notify(session, QUEUE_CHANNEL)
            run = await self._advance(session, failed, now, retry)
            if run is not None:
                await self._after_end(session, run, now, 0.5)
            return Requeued(execution_of(failed), None if retry is None else execution_of(retry))

    @contextlib.asynccontextmanager
    async def listen(
        self,
        channels: Collection[str],
        on_notify: Callable[[str, str], None],
        health: LoopHealth | None = None,
    ) -> AsyncIterator[bool]:
        """Call ``on_notify(channel, payload)`` for PostgreSQL notifications while inside.

        Yields whether notifications work here (False on SQLite: poll instead). The listening
        connection is supervised: when it is lost it is opened again, with a back-off, and
        ``on_notify("", "")`` is called once it is back (something may have been missed).
        """
        if self.dialect != "postgresql":
            yield False
            return
        health = health or LoopHealth("the notification listener")
        listener = asyncio.create_task(self._listen_forever(channels, on_notify, health))
        try:
            yield True
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen_forever(
        self, channels: Collection[str], on_notify: Callable[[str, str], None], health: LoopHealth
    ) -> None:
        def callback(_connection: Any, _pid: int, channel: str, payload: str) -> None:
            on_notify(channel, payload)

        while True:
            try:
                async with self.engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None
                    for channel in channels:
                        await driver.add_listener(channel, callback)
                    if health.failures:
                        on_notify("", "")
                    health.succeeded()
                    while not driver.is_closed():
                        await asyncio.sleep(LISTENER_CHECK_SECONDS)
                        await driver.execute("SELECT 1")
            except (DBAPIError, OSError, StorageError) as exc:
                delay = health.failed(exc if isinstance(exc, StorageError) else storage_error(exc))
            except Exception as exc:  # supervised: one bug must not end the listening
                delay = health.failed(exc)
            else:
                delay = health.failed(StorageError("the listening connection was closed"))
            await asyncio.sleep(delay)


async def _insert_logs(session: AsyncSession, execution_id: int, lines: Sequence[LogLine]) -> None:
    """One multi-row INSERT of the table (executemany): no ORM object, no copy per line."""
    if lines:
        await session.execute(
            insert(LOG_LINES),
            [
                {"execution_id": execution_id, "seq": line.seq, "stream": line.stream,
                 "at": line.at, "line": line.line}
                for line in lines
            ],
        )  # fmt: skip
