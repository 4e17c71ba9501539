"""The scheduler: turns schedules into queued executions, on time and exactly once.

It keeps every active schedule's next fire time in a heap, so a tick touches only what is due.
Changed events are read again every tick (by their ``updated_at``) and all of them every
``refresh`` seconds. ``run_once(now)`` handles everything due up to ``now`` without sleeping
(tests step it); ``run`` repeats it, sleeping until the next fire is due (at most ``tick``
seconds), and also requeues executions whose worker was lost. Any number of schedulers may run
against one PostgreSQL database: each stretch of each schedule is handled by exactly one of
them (see ``Store.fire``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cronium.domain.event import Event, EventStatus
from cronium.domain.execution import Execution
from cronium.domain.schedule import plan_fires
from cronium.errors import CroniumError
from cronium.service import Clock, utcnow
from cronium.storage import Store

log = logging.getLogger(__name__)

# Changes are found by updated_at; a little overlap covers clocks and slow commits.
CHANGE_OVERLAP = timedelta(seconds=5)
# Due events are fired in batches of this many, one transaction each.
BATCH = 500


@dataclass
class Scheduler:
    store: Store
    clock: Clock = utcnow
    tick: float = 1.0
    refresh: float = 60.0
    _events: dict[int, Event] = field(default_factory=dict, init=False)
    _due: list[tuple[datetime, int]] = field(default_factory=list, init=False)
    _loaded_at: datetime | None = field(default=None, init=False)
    _changes_seen_at: datetime | None = field(default=None, init=False)

    async def run_once(self, now: datetime | None = None) -> list[Execution]:
        """Fire everything due up to ``now``; the executions made (queued or skipped)."""
        now = now or self.clock()
        await self._refresh(now)
        due: dict[int, Event] = {}
        while self._due and self._due[0][0] <= now:
            _, event_id = heapq.heappop(self._due)
            event = self._events.get(event_id)
            if event is not None:
                due[event_id] = event
        events = list(due.values())
        made: list[Execution] = []
        for start in range(0, len(events), BATCH):
            made += await self._fire(events[start : start + BATCH], now)
        return made

    async def _fire(self, events: list[Event], now: datetime) -> list[Execution]:
        batch = []
        for event in events:
            assert event.schedule is not None
            cursor = event.schedule_cursor or now
            batch.append((event.id, cursor, plan_fires(event.schedule, event.policy, cursor, now)))
        made = await self.store.fire_batch(batch, until=now, now=now)
        queued: dict[int, int] = {}
        for execution in made:
            if execution.status == "queued":
                queued[execution.event_id] = queued.get(execution.event_id, 0) + 1
        # Whether this scheduler or another handled the stretch, the events move on from now.
        for event in events:
            count = event.fire_count + queued.get(event.id, 0)
            limit = event.policy.max_executions
            if limit is not None and count >= limit:
                self._track(None, event.id, now)  # the store paused it
            else:
                self._track(replace(event, schedule_cursor=now, fire_count=count), event.id, now)
        return made

    async def _refresh(self, now: datetime) -> None:
        stale = self._loaded_at is None or (now - self._loaded_at).total_seconds() >= self.refresh
        if stale:
            self._events.clear()
            self._due.clear()
            for event in await self.store.scheduled_events():
                self._track(event, event.id, now)
            self._loaded_at = self._changes_seen_at = now
            return
        assert self._changes_seen_at is not None
        since = self._changes_seen_at - CHANGE_OVERLAP
        self._changes_seen_at = now
        for event in await self.store.scheduled_events(changed_since=since):
            active = event.status is EventStatus.ACTIVE
            self._track(event if active else None, event.id, now)

    def _track(self, event: Event | None, event_id: int, now: datetime) -> None:
        """Remember ``event`` and queue its next fire (None: forget it)."""
        if event is None or event.schedule is None:
            self._events.pop(event_id, None)
            return
        self._events[event_id] = event
        cursor = event.schedule_cursor or now
        upcoming = event.schedule.next_fires(cursor, 1)
        if upcoming:
            heapq.heappush(self._due, (upcoming[0], event_id))
        # Stale heap entries of an event are harmless: firing is conditional on its cursor.

    def seconds_to_next(self, now: datetime) -> float:
        """Seconds until the next fire of any active schedule (at most ``tick``)."""
        if not self._due:
            return self.tick
        return min(self.tick, max(0.0, (self._due[0][0] - now).total_seconds()))

    async def run(self, stop: asyncio.Event) -> None:
        """Fire schedules and requeue lost executions until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.run_once()
                await self.store.requeue_expired(self.clock())
            except CroniumError as exc:
                log.warning("the scheduler's tick failed: %s", exc)
            delay = self.seconds_to_next(self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
