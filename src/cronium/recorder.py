"""Storing how a worker's runs end, through a database that may be away for a while, and giving
back the runs whose sandbox could not be set up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cronium.domain.event import Event
from cronium.domain.execution import MAX_START_FAILURES, Execution, ExecutionStatus
from cronium.errors import LeaseLostError, StorageError
from cronium.metrics import RECORD_RETRIES, START_FAILURES
from cronium.service import Clock
from cronium.storage import RunRecord, Store

log = logging.getLogger(__name__)

RECORD_RETRY_MAX_SECONDS = 5.0
# an execution as it ended, and the next node of its workflow run if it was handed over
Ended = tuple[Execution, tuple[Execution, Event] | None]


@dataclass(frozen=True, slots=True)
class NotStarted:
    """The sandbox could not be set up: the script never started, and why."""

    reason: str


class Recorder:
    """Stores the ends of the runs of worker ``worker_id``: again and again while the database
    is away (with a capped back-off), until stored or the run turns out to be no longer this
    worker's. Once ``give_up_in`` was called (the worker stops) it gives up at that deadline:
    the run stays ``running`` until its lease runs out, then it is failed as lost (and retried)
    like any lost run."""

    def __init__(self, store: Store, worker_id: str, clock: Clock) -> None:
        self.store = store
        self.worker_id = worker_id
        self.clock = clock
        self._give_up_at: float | None = None  # loop time

    def give_up_in(self, seconds: float) -> None:
        """Stop trying to store ends ``seconds`` from now."""
        self._give_up_at = asyncio.get_running_loop().time() + seconds

    async def record(self, write: Callable[[], Awaitable[Ended]], lost: Ended) -> Ended:
        """What ``write`` stored; ``lost`` if the run is no longer this worker's, or the
        worker gave up."""
        delay = 0.1
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await write()
            except LeaseLostError as exc:
                log.warning("%s", exc.message)
                return lost
            except StorageError as exc:
                RECORD_RETRIES.inc()
                log.warning(
                    "could not store the end of execution %s, trying again in %.1f s: %s",
                    lost[0].id,
                    delay,
                    exc,
                )
            if self._give_up_at is not None and loop.time() >= self._give_up_at:
                log.error(
                    "the worker stops without storing the end of execution %s (the database"
                    " is away): it will be failed as lost when its lease runs out",
                    lost[0].id,
                )
                return lost
            remaining = float("inf") if self._give_up_at is None else self._give_up_at - loop.time()
            await asyncio.sleep(min(delay, max(0.0, remaining)))
            delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)

    def give_back(
        self, execution: Execution, not_started: NotStarted, cancelled: str | None
    ) -> RunRecord | None:
        """None if a run that could not start goes back to the queue; else how it ends: it
        was cancelled meanwhile (for the reason ``cancelled``), or its sandbox failed to start
        too many times."""
        if cancelled is not None:
            return RunRecord(
                status=ExecutionStatus.CANCELLED, finished_at=self.clock(), error=cancelled
            )
        if execution.start_failures + 1 < MAX_START_FAILURES:
            return None
        return RunRecord(
            status=ExecutionStatus.FAILED,
            finished_at=self.clock(),
            error=f"the sandbox could not be set up {MAX_START_FAILURES} times; last time:"
            f" {not_started.reason}",
        )

    async def release(self, execution: Execution, not_started: NotStarted) -> Execution:
        """Queue again a run whose sandbox could not be set up (the same attempt); the worker
        logs that it did."""
        released, _ = await self.record(
            lambda: self._released(execution.id, not_started.reason), (execution, None)
        )
        return released

    async def _released(self, execution_id: int, reason: str) -> Ended:
        released = await self.store.queue.release(
            execution_id,
            self.worker_id,
            self.clock(),
            f"not started on worker {self.worker_id}: {reason}",
        )
        START_FAILURES.inc()
        return released, None
