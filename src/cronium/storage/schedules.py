"""The scheduler's named operations: which events fire, and firing them exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cronium.domain.event import Event, EventStatus
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.schedule import Concurrency, concurrency_action
from cronium.storage.gateway import Gateway
from cronium.storage.queue import CANCEL_CHANNEL, QUEUE_CHANNEL, new_execution
from cronium.storage.rows import event_of, execution_of
from cronium.storage.tables import EventRow, ExecutionRow

SKIPPED_REASON = "skipped: an earlier run had not ended (concurrency: {policy})"
ACTIVE = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


class ScheduleOperations(Gateway):
    async def scheduled_events(self, changed_since: datetime | None = None) -> list[Event]:
        """Events that have a schedule: the active ones, or, with ``changed_since``, every
        one changed since then (whatever its status, so that a pause is seen too)."""
        query = select(EventRow).where(EventRow.schedule.is_not(None))
        if changed_since is None:
            query = query.where(EventRow.status == EventStatus.ACTIVE)
        else:
            query = query.where(EventRow.updated_at >= changed_since)
        async with self._read() as session:
            return [event_of(row) for row in await session.scalars(query)]

    async def fire(
        self,
        event_id: int,
        *,
        cursor: datetime,
        until: datetime,
        fires: Sequence[datetime],
        now: datetime,
    ) -> list[Execution]:
        """Queue ``fires`` of the event and move its cursor from ``cursor`` to ``until``.

        The cursor moves only if it still is where this scheduler read it, so of several
        schedulers exactly one handles each window; the unique key on (event, fire time,
        attempt) makes a double fire impossible even so. Each fire obeys the event's
        concurrency policy; reaching ``max_executions`` pauses the event.
        """
        advance = (
            update(EventRow)
            .where(
                EventRow.id == event_id,
                EventRow.status == EventStatus.ACTIVE,
                EventRow.schedule_cursor == cursor,
            )
            .values(schedule_cursor=until)
        )
        made: list[ExecutionRow] = []
        async with self._write() as session:
            if (await session.execute(advance)).rowcount != 1:  # type: ignore[attr-defined]
                return []
            event = await session.get(EventRow, event_id)
            assert event is not None
            for fire in fires:
                row = await self._fire_one(session, event, fire, now)
                if row is not None:
                    made.append(row)
                if event.status != EventStatus.ACTIVE:
                    break
            if any(row.status == ExecutionStatus.QUEUED for row in made):
                await self._notify(session, QUEUE_CHANNEL)
        return [execution_of(row) for row in made]

    async def _fire_one(
        self, session: AsyncSession, event: EventRow, fire: datetime, now: datetime
    ) -> ExecutionRow | None:
        active = await session.scalar(
            select(func.count())
            .select_from(ExecutionRow)
            .where(ExecutionRow.event_id == event.id, ExecutionRow.status.in_(ACTIVE))
        )
        action = concurrency_action(event_of(event).policy, int(active or 0))
        if action is Concurrency.REPLACE:
            await self._replace_active(session, event.id, now)
        row = new_execution(event.id, input=None, now=now)
        row.trigger, row.scheduled_at, row.pool = "schedule", fire, event.pool
        if action is Concurrency.FORBID:
            row.status, row.finished_at = ExecutionStatus.SKIPPED, now
            row.error = SKIPPED_REASON.format(policy=event.concurrency)
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None  # this fire exists already
        if row.status == ExecutionStatus.QUEUED:
            event.fire_count += 1
            if event.max_executions is not None and event.fire_count >= event.max_executions:
                event.status = EventStatus.PAUSED
        return row

    async def _replace_active(self, session: AsyncSession, event_id: int, now: datetime) -> None:
        await session.execute(
            update(ExecutionRow)
            .where(
                ExecutionRow.event_id == event_id,
                ExecutionRow.status == ExecutionStatus.QUEUED,
            )
            .values(
                status=ExecutionStatus.CANCELLED,
                finished_at=now,
                error="cancelled: replaced by a newer scheduled run",
            )
        )
        running = await session.scalars(
            update(ExecutionRow)
            .where(
                ExecutionRow.event_id == event_id,
                ExecutionRow.status == ExecutionStatus.RUNNING,
            )
            .values(cancel_requested_at=now)
            .returning(ExecutionRow.id)
        )
        for execution_id in running:
            await self._notify(session, CANCEL_CHANNEL, str(execution_id))
