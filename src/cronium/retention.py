"""Execution retention: ended executions (with their logs and workflow nodes) pruned by age
and by count per event, in short transactions (docs/retention.md).

The policy is pure (:class:`RetentionPolicy`: the cutoff is computed from the time it is
given); :class:`Pruner` applies it through ``store.retention`` one bounded step at a time:
the scheduler's chore calls :meth:`Pruner.run_once` every minute, ``cronium executions prune``
calls :meth:`Pruner.run_all`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cronium.metrics import RETENTION_DELETED
from cronium.settings import Settings
from cronium.storage import Store
from cronium.storage.retention import DueOfEvent

# Tuned with bench/retention.py: each transaction holds SQLite's writer lock for a few ms.
BATCH_EXECUTIONS = 500
LINES_PER_TRANSACTION = 5000
BATCHES_PER_CALL = 4
VACUUM_PAGES = 1000

__all__ = ["DueOfEvent", "Pruned", "Pruner", "RetentionPolicy", "retention_chore"]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long ended executions are kept, and how many per event at most."""

    days: float = 30.0
    per_event: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(days=settings.retention_days, per_event=settings.retention_per_event)

    def cutoff(self, now: datetime) -> datetime:
        """Executions that ended before this are due by age."""
        return now - timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune took away, and whether anything due is left for the next call."""

    executions: int = 0
    log_lines: int = 0
    batches: int = 0
    more: bool = False

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.executions + other.executions,
            self.log_lines + other.log_lines,
            self.batches + other.batches,
            other.more,
        )


@dataclass(frozen=True, slots=True)
class Batching:
    """The bounds of one prune: executions per batch, log lines per transaction, batches per
    call, SQLite pages vacuumed after each batch."""

    executions: int = BATCH_EXECUTIONS
    lines: int = LINES_PER_TRANSACTION
    per_call: int = BATCHES_PER_CALL
    vacuum_pages: int = VACUUM_PAGES


class Pruner:
    """Applies a :class:`RetentionPolicy` to the store, in bounded batches."""

    def __init__(
        self, store: Store, policy: RetentionPolicy, batching: Batching | None = None
    ) -> None:
        self.store = store
        self.policy = policy
        self.batching = batching or Batching()

    async def due(self, now: datetime) -> list[DueOfEvent]:
        """What would go now, by event (a dry run: it writes nothing)."""
        return await self.store.retention.due(self.policy.cutoff(now), self.policy.per_event)

    async def run_once(self, now: datetime, batches: int | None = None) -> Pruned:
        """Prune up to ``batches`` batches (default: the batching's per call) of what is due,
        the oldest by age first, then what is beyond the count of each event; ``more`` says
        whether something due is left."""
        left = self.batching.per_call if batches is None else batches
        total = Pruned()
        async with aclosing(self._due_batches(now)) as due:
            async for ids in due:
                if left <= 0:
                    return replace(total, more=True)
                step = await self._prune(ids)
                total += step
                left -= 1
                if step.executions == 0:
                    break  # what was read due is needed again (a workflow run took it up)
        return total

    async def run_all(
        self, now: datetime, on_batch: Callable[[Pruned], None] | None = None
    ) -> Pruned:
        """Prune everything due at ``now``, batch after batch (``on_batch`` hears the running
        total after each)."""
        total = Pruned()
        while True:
            step = await self.run_once(now)
            total = replace(total + step, more=step.more)
            if on_batch is not None and step.batches:
                on_batch(total)
            if not step.more:
                return total

    async def _due_batches(self, now: datetime) -> AsyncGenerator[list[int]]:
        """The batches due, each read once the one before it went."""
        retention, size = self.store.retention, self.batching.executions
        before = self.policy.cutoff(now)
        while ids := await retention.aged(before, size):
            yield ids
        for event_id in await retention.crowded(self.policy.per_event):
            below = await retention.boundary(event_id, self.policy.per_event)
            if below is None:
                continue
            while ids := await retention.beyond(event_id, below, size):
                yield ids

    async def _prune(self, ids: list[int]) -> Pruned:
        """One batch: its log lines in transactions of a bounded size, then the executions
        (with their workflow nodes), then some of the freed pages vacuumed."""
        retention, size = self.store.retention, self.batching.lines
        lines = 0
        while (went := await retention.delete_lines(ids, size)) > 0:
            lines += went
            if went < size:
                break
        executions = await retention.delete_executions(ids)
        if self.batching.vacuum_pages > 0:
            await retention.reclaim(self.batching.vacuum_pages)
        RETENTION_DELETED.labels(what="executions").inc(executions)
        RETENTION_DELETED.labels(what="log_lines").inc(lines)
        return Pruned(executions, lines, 1)


def retention_chore(settings: Settings, store: Store) -> Callable[[], Awaitable[Pruned]]:
    """The scheduler's housekeeping step: a few batches of what is due now."""
    pruner = Pruner(store, RetentionPolicy.from_settings(settings))
    return lambda: pruner.run_once(datetime.now(UTC))
