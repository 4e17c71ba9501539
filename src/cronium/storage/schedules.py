"""The scheduler's named operations: which events fire, and firing them exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cronium.domain.event import Event, EventStatus
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.schedule import Concurrency, concurrency_action
from cronium.storage.endings import finish, say_finished
from cronium.storage.executions import change_status
from cronium.storage.rows import event_of, execution_of
from cronium.storage.runs import cancel_run
from cronium.storage.tables import EventRow, ExecutionRow
from cronium.storage.transactions import CANCEL_CHANNEL, QUEUE_CHANNEL, Database, Unit

SKIPPED_REASON = "skipped: an earlier run had not ended (concurrency: {policy})"
REPLACED_REASON = "cancelled: replaced by a newer scheduled run"
ACTIVE = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class Fired:
    """What :meth:`Schedules.fire` did.

    ``made``: the executions queued or skipped. ``moved``: events whose cursor another
    scheduler had moved already (their cursor now). ``gone``: events that no longer fire
    (deleted, paused or archived). Every other event of the batch was handled, here or by a
    scheduler that holds it right now.
    """

    made: list[Execution] = field(default_factory=list)
    moved: dict[int, datetime] = field(default_factory=dict)
    gone: set[int] = field(default_factory=set)


class Schedules:
    """What the scheduler reads and writes: which events fire, and firing them exactly once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def set_aside(self, event_id: int, reason: str, now: datetime) -> None:
        """Pause an active event the scheduler cannot handle, with the reason (shown to its
        owner; cleared by the next status change, such as a resume)."""
        async with self.db.write() as unit:
            await unit.session.execute(
                update(EventRow)
                .where(EventRow.id == event_id, EventRow.status == EventStatus.ACTIVE.value)
                .values(status=EventStatus.PAUSED.value, paused_reason=reason, updated_at=now)
            )

    async def scheduled(self, changed_since: datetime | None = None) -> list[Event]:
        """Events that have a schedule: the active ones, or, with ``changed_since``, every
        one changed since then (whatever its status, so that a pause is seen too)."""
        query = select(EventRow).where(EventRow.schedule.is_not(None))
        if changed_since is None:
            query = query.where(EventRow.status == EventStatus.ACTIVE)
        else:
            query = query.where(EventRow.updated_at >= changed_since)
        async with self.db.read() as session:
            return [event_of(row) for row in await session.scalars(query)]

    async def versions(self) -> dict[int, datetime]:
        """``updated_at`` of every active event that has a schedule, by event id: a cheap
        way for a scheduler to check that what it holds is still current."""
        query = select(EventRow.id, EventRow.updated_at).where(
            EventRow.schedule.is_not(None), EventRow.status == EventStatus.ACTIVE
        )
        async with self.db.read() as session:
            return {event_id: updated for event_id, updated in (await session.execute(query)).all()}

    async def events(self, event_ids: Sequence[int]) -> list[Event]:
        query = select(EventRow).where(EventRow.id.in_(list(event_ids)))
        async with self.db.read() as session:
            return [event_of(row) for row in await session.scalars(query)]

    async def fire(
        self,
        batch: Sequence[tuple[int, datetime, list[datetime]]],
        *,
        until: datetime,
        now: datetime,
    ) -> Fired:
        """For each (event, cursor, fires): queue the fires and move its cursor to ``until``.

        One transaction and a few set-wise statements for the whole batch. An event's fires
        are queued only if its cursor still is where the scheduler read it (rows locked, or
        skipped if another scheduler holds them, on PostgreSQL; SQLite has one writer), so of
        several schedulers exactly one handles each stretch; the unique key on (event, fire
        time, attempt) makes a double fire impossible even so. Each fire obeys the event's
        concurrency policy; reaching ``max_executions`` pauses the event.
        """
        expected = {event_id: cursor for event_id, cursor, _ in batch}
        fired = Fired()
        async with self.db.write() as unit:
            session = unit.session
            locked = await session.scalars(
                select(EventRow).where(EventRow.id.in_(expected)).with_for_update(skip_locked=True)
            )
            events = {}
            for row in locked:
                if row.status != EventStatus.ACTIVE or row.schedule is None:
                    fired.gone.add(row.id)
                elif row.schedule_cursor is not None and row.schedule_cursor != expected[row.id]:
                    fired.moved[row.id] = row.schedule_cursor
                else:
                    events[row.id] = row
            seen = events.keys() | fired.gone | fired.moved.keys()
            if len(seen) < len(expected):  # deleted, or held by another scheduler
                present = set(
                    await session.scalars(
                        select(EventRow.id).where(EventRow.id.in_(expected.keys() - seen))
                    )
                )
                fired.gone.update(expected.keys() - seen - present)
            if not events:
                return fired
            await session.execute(
                update(EventRow)
                .where(EventRow.id.in_(list(events)))
                .values(schedule_cursor=until)
                .execution_options(synchronize_session=False)
            )
            active = await self._active_counts(unit, list(events))
            rows = []
            for event_id, _, fires in batch:
                if event_id in events:
                    rows += await self._plan_rows(unit, events[event_id], fires, active, now)
            fired.made.extend(await self._insert_new(unit, rows))
            if any(row["status"] == ExecutionStatus.QUEUED for row in rows):
                await unit.notify(QUEUE_CHANNEL)
            return fired

    @staticmethod
    async def _active_counts(unit: Unit, event_ids: list[int]) -> dict[int, int]:
        counts = await unit.session.execute(
            select(ExecutionRow.event_id, func.count())
            .where(
                ExecutionRow.event_id.in_(event_ids),
                ExecutionRow.status.in_(ACTIVE),
                ExecutionRow.parent_id.is_(None),  # nodes of workflow runs do not count
            )
            .group_by(ExecutionRow.event_id)
        )
        return {event_id: int(count) for event_id, count in counts.all()}

    async def _plan_rows(
        self,
        unit: Unit,
        event: EventRow,
        fires: list[datetime],
        active: dict[int, int],
        now: datetime,
    ) -> list[dict[str, Any]]:
        policy = event_of(event).policy
        rows = []
        for fire in fires:
            action = concurrency_action(policy, active.get(event.id, 0))
            if action is Concurrency.REPLACE:
                await self._replace_active(unit, event.id, now)
                active[event.id] = 0
            skipped = action is Concurrency.FORBID
            rows.append(
                {
                    "event_id": event.id,
                    "status": ExecutionStatus.SKIPPED if skipped else ExecutionStatus.QUEUED,
                    "attempt": 1,
                    "priority": 0,
                    "trigger": "schedule",
                    "scheduled_at": fire,
                    "pool": event.pool,
                    "queued_at": now,
                    "finished_at": now if skipped else None,
                    "error": SKIPPED_REASON.format(policy=event.concurrency) if skipped else None,
                    "timed_out": False,
                    "oom_killed": False,
                }
            )
            if skipped:
                continue
            active[event.id] = active.get(event.id, 0) + 1
            if event.max_executions is not None:
                event.fire_count += 1
                if event.fire_count >= event.max_executions:
                    event.status = EventStatus.PAUSED
                    break
        return rows

    async def _insert_new(self, unit: Unit, rows: list[dict[str, Any]]) -> list[Execution]:
        """Insert the executions, leaving out any fire that exists already."""
        if not rows:
            return []
        insert = pg_insert if unit.dialect == "postgresql" else sqlite_insert
        statement = (
            insert(ExecutionRow)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_id", "scheduled_at", "attempt"])
            .returning(ExecutionRow)
        )
        made = list(await unit.session.scalars(statement))
        made.sort(key=lambda row: (row.event_id, row.scheduled_at or row.queued_at))
        return [execution_of(row) for row in made]

    @staticmethod
    async def _replace_active(unit: Unit, event_id: int, now: datetime) -> None:
        own = (ExecutionRow.event_id == event_id, ExecutionRow.parent_id.is_(None))
        await change_status(
            unit,
            ExecutionStatus.QUEUED,
            ExecutionStatus.CANCELLED,
            *own,
            finished_at=now,
            error=REPLACED_REASON,
        )
        running = await unit.session.scalars(
            select(ExecutionRow).where(*own, ExecutionRow.status == ExecutionStatus.RUNNING)
        )
        for row in list(running):
            if row.worker_id is None:  # a workflow run
                ended = await cancel_run(unit, row, now, REPLACED_REASON)
                if ended is not None:
                    say_finished(await finish(unit, ended, now))
            else:
                row.cancel_requested_at = now
                await unit.notify(CANCEL_CHANNEL, str(row.id))
