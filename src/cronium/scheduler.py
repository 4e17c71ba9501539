"""The scheduler: turns schedules into queued executions, on time and exactly once.

``run_once(now)`` handles every active schedule up to ``now`` without sleeping (tests step it);
``run`` repeats it, sleeping until the next fire is due (at most ``tick`` seconds), and also
requeues executions whose worker was lost. Any number of schedulers may run against one
PostgreSQL database: each window of each schedule is handled by exactly one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from cronium.domain.execution import Execution
from cronium.domain.schedule import plan_fires
from cronium.errors import CroniumError
from cronium.service import Clock, utcnow
from cronium.storage import Store

log = logging.getLogger(__name__)


@dataclass
class Scheduler:
    store: Store
    clock: Clock = utcnow
    tick: float = 1.0

    async def run_once(self, now: datetime | None = None) -> list[Execution]:
        """Fire everything due up to ``now``; the executions made (queued or skipped)."""
        now = now or self.clock()
        made: list[Execution] = []
        for event in await self.store.scheduled_events():
            assert event.schedule is not None
            cursor = event.schedule_cursor or now
            fires = plan_fires(event.schedule, event.policy, cursor, now)
            made += await self.store.fire(event.id, cursor=cursor, until=now, fires=fires, now=now)
        return made

    async def next_due(self, now: datetime) -> float:
        """Seconds until the next fire of any active schedule (at most ``tick``)."""
        soonest = self.tick
        for event in await self.store.scheduled_events():
            assert event.schedule is not None
            upcoming = event.schedule.next_fires(max(now, event.schedule_cursor or now), 1)
            if upcoming:
                soonest = min(soonest, max(0.0, (upcoming[0] - now).total_seconds()))
        return soonest

    async def run(self, stop: asyncio.Event) -> None:
        """Fire schedules and requeue lost executions until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.run_once()
                await self.store.requeue_expired(self.clock())
                delay = await self.next_due(self.clock())
            except CroniumError as exc:
                log.warning("the scheduler's tick failed: %s", exc)
                delay = self.tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
