"""The scheduler: turns schedules into queued executions, on time and exactly once.

It keeps every active schedule's next fire time in a heap, so a tick touches only what is due.
Each tick reads again the events changed since the last one (by their ``updated_at``); every
``refresh`` seconds it compares the ``updated_at`` of all active schedules with what it holds
(one light query) and reads only those that differ, so no tick ever reloads everything.
``run_once(now)`` handles everything due up to ``now`` without sleeping (tests step it); ``run``
repeats it, sleeping until the next fire is due (at most ``tick`` seconds), and every
``requeue_interval`` seconds also requeues executions whose worker was lost. Any number of
schedulers may run against one PostgreSQL database: each stretch of each schedule is handled by
exactly one of them (see ``Store.fire_batch``), and each adopts what the others did.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cronium.domain.event import Event, EventStatus
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.schedule import plan_fires
from cronium.errors import CroniumError
from cronium.metrics import (
    NO_BACKEND,
    SCHEDULER_FIRES,
    SCHEDULER_LATENESS,
    count_ended,
    language_of,
)
from cronium.service import Clock, utcnow
from cronium.storage import Store
from cronium.storage.endings import say_status
from cronium.supervision import Health

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
    requeue_interval: float = 5.0
    # housekeeping (pruning the audit log, expired variables...), each a bounded batch
    chores: tuple[Callable[[], Awaitable[object]], ...] = ()
    chores_interval: float = 60.0
    _events: dict[int, Event] = field(default_factory=dict, init=False)
    _due: list[tuple[datetime, int]] = field(default_factory=list, init=False)
    _checked_at: datetime | None = field(default=None, init=False)
    _changes_seen_at: datetime | None = field(default=None, init=False)
    _aside: dict[int, str] = field(default_factory=dict, init=False)
    health: Health = field(default_factory=Health)

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
        await self._pause_set_aside(now)
        return made

    async def _fire(
        self, events: list[Event], now: datetime, *, again: bool = True
    ) -> list[Execution]:
        """Fire ``events`` from their cursor up to ``now``."""
        batch = []
        for event in events:
            cursor = event.schedule_cursor or now
            planned = self._plan(event, cursor, now)
            if planned is not None:
                batch.append((event.id, cursor, planned))
        fired = await self.store.schedules.fire(batch, until=now, now=now)
        made = fired.made
        _say_fired(made, {event.id: event for event in events})
        queued = _queued_by_event(made)
        behind = []
        for event in events:
            if event.id in self._aside:
                continue
            if event.id in fired.gone:
                self._track(None, event.id, now)
                continue
            count = event.fire_count + queued.get(event.id, 0)
            limit = event.policy.max_executions
            if limit is not None and count >= limit:
                self._track(None, event.id, now)  # the store paused it
                continue
            # another scheduler moved this event's cursor: carry on from where it is
            cursor = fired.moved.get(event.id, now)
            event = replace(event, schedule_cursor=cursor, fire_count=count)
            assert event.schedule is not None
            if cursor < now and self._plan(event, cursor, now):
                behind.append(event)  # it stopped short of now: fire the rest here
            else:
                self._track(event, event.id, now)
        if behind and again:
            made += await self._fire(behind, now, again=False)
        else:
            for event in behind:
                self._track(event, event.id, now)
        return made

    async def _refresh(self, now: datetime) -> None:
        if self._checked_at is None:
            self._events.clear()
            self._due.clear()
            for event in await self.store.schedules.scheduled():
                self._track(event, event.id, now)
            self._checked_at = self._changes_seen_at = now
            return
        assert self._changes_seen_at is not None
        since = self._changes_seen_at - CHANGE_OVERLAP
        self._changes_seen_at = now
        for event in await self.store.schedules.scheduled(changed_since=since):
            held = self._events.get(event.id)
            if held is not None and held.updated_at == event.updated_at:
                continue  # seen at an earlier tick (the overlap reads changes again)
            self._track(event if event.status is EventStatus.ACTIVE else None, event.id, now)
        if (now - self._checked_at).total_seconds() >= self.refresh:
            self._checked_at = now
            await self._reconcile(now)

    async def _reconcile(self, now: datetime) -> None:
        """Catch what the change feed could miss (a clock far behind on another host)."""
        current = await self.store.schedules.versions()
        for event_id in self._events.keys() - current.keys():
            self._track(None, event_id, now)
        stale = [
            event_id
            for event_id, updated_at in current.items()
            if event_id not in self._events or self._events[event_id].updated_at != updated_at
        ]
        if stale:
            log.info("the scheduler re-read %d event(s) it had missed", len(stale))
            for event in await self.store.schedules.events(stale):
                self._track(event if event.status is EventStatus.ACTIVE else None, event.id, now)

    def _track(self, event: Event | None, event_id: int, now: datetime) -> None:
        """Remember ``event`` and queue its next fire (None: forget it)."""
        if event is None or event.schedule is None:
            self._events.pop(event_id, None)
            return
        self._events[event_id] = event
        cursor = event.schedule_cursor or now
        try:
            upcoming = event.schedule.next_fires(cursor, 1)
        except Exception as exc:
            self._set_aside(event_id, exc)
            return
        if upcoming:
            heapq.heappush(self._due, (upcoming[0], event_id))
        # Stale heap entries of an event are harmless: firing is conditional on its cursor.

    def _plan(self, event: Event, cursor: datetime, now: datetime) -> list[datetime] | None:
        """The event's fires due now; None if they cannot be computed (it is set aside)."""
        assert event.schedule is not None
        try:
            return plan_fires(event.schedule, event.policy, cursor, now)
        except Exception as exc:
            self._set_aside(event.id, exc)
            return None

    def _set_aside(self, event_id: int, exc: Exception) -> None:
        """Stop handling an event whose schedule fails; it is paused with the reason at the
        end of the tick, and the other events carry on."""
        reason = exc.message if isinstance(exc, CroniumError) else f"{type(exc).__name__}: {exc}"
        log.error("the scheduler set event %s aside: %s", event_id, reason, exc_info=exc)
        self._events.pop(event_id, None)
        self._aside[event_id] = f"paused by the scheduler: {reason}"

    async def _pause_set_aside(self, now: datetime) -> None:
        while self._aside:
            event_id, reason = next(iter(self._aside.items()))
            await self.store.schedules.set_aside(event_id, reason[:2000], now)
            del self._aside[event_id]

    def tracking(self) -> int:
        """How many schedules this scheduler holds."""
        return len(self._events)

    def seconds_to_next(self, now: datetime) -> float:
        """Seconds until the next fire of any active schedule (at most ``tick``)."""
        if not self._due:
            return self.tick
        return min(self.tick, max(0.0, (self._due[0][0] - now).total_seconds()))

    async def run(self, stop: asyncio.Event) -> None:
        """Fire schedules and requeue lost executions until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        last_requeue = -self.requeue_interval
        last_chores = -self.chores_interval
        health = self.health.loop("scheduler")
        while not stop.is_set():
            try:
                await self.run_once()
                if loop.time() - last_requeue >= self.requeue_interval:
                    await self.store.queue.requeue_expired(self.clock())
                    last_requeue = loop.time()
                if loop.time() - last_chores >= self.chores_interval:
                    last_chores = loop.time()
                    for chore in self.chores:
                        await chore()
                health.succeeded()
                delay = self.seconds_to_next(self.clock())
            except Exception as exc:  # supervised: see cronium.supervision
                delay = health.failed(exc)
                # what the failed tick took off its heap is read again, whole, at the next one
                self._checked_at = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


def _say_fired(made: list[Execution], events: dict[int, Event]) -> None:
    """The metrics and the log line of each execution a fire made (queued, or skipped by
    the event's policy)."""
    for execution in made:
        SCHEDULER_FIRES.inc()
        if execution.scheduled_at is not None:
            late = (execution.queued_at - execution.scheduled_at).total_seconds()
            SCHEDULER_LATENESS.observe(max(late, 0.0))
        event = events.get(execution.event_id)
        if event is not None:
            language = language_of(event.kind, event.language)
            count_ended(execution, language=language, backend=NO_BACKEND)
        say_status(execution, f"{execution.status} (schedule)", trigger=execution.trigger)


def _queued_by_event(made: list[Execution]) -> dict[int, int]:
    """How many queued (not skipped) executions each event got."""
    queued: dict[int, int] = {}
    for execution in made:
        if execution.status == ExecutionStatus.QUEUED:
            queued[execution.event_id] = queued.get(execution.event_id, 0) + 1
    return queued
