"""A run's output on its way to the store: masked, numbered, batched, and kept while the
database is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from cronium.errors import LeaseLostError, StorageError
from cronium.masking import LineMasking, Masker
from cronium.metrics import LOG_LINES_DROPPED
from cronium.sandbox.spec import OutputLine
from cronium.storage import LogLine, Store

log = logging.getLogger(__name__)

LOG_FLUSH_SECONDS = 0.05  # a line is stored this soon after it came (followers see it then)
LOG_RETRY_SECONDS = 0.2  # while the database is away, how often storing is tried again
LOG_BATCH_LINES = 2000


class LogWriter:
    """Masks a run's output lines (its owner's secrets, see cronium.masking), numbers them
    and writes them to the store in batches.

    A line is stored within ``LOG_FLUSH_SECONDS`` of its coming, with whatever came meanwhile,
    in transactions of at most ``LOG_BATCH_LINES`` lines; an idle run costs no wake-up. A
    batch leaves the pending lines only once it is stored, so while the database is away they
    wait here (bounded by the run's output caps) and storing is tried every
    ``LOG_RETRY_SECONDS``; on exit the writer finishes the batch it is writing (never
    interrupts it) and leaves the rest to ``take_pending``. Once the store refuses a batch
    because this worker no longer holds the execution, ``on_lost`` is called and every later
    line is dropped (counted in ``cronium_log_lines_dropped_total{reason="lease_lost"}``). The
    lines come capped, with each stream's marker last (sandbox/output.py): nothing is cut here.
    """

    def __init__(
        self,
        store: Store,
        execution_id: int,
        worker_id: str | None = None,
        on_lost: Callable[[int], None] | None = None,
        masker: Masker | None = None,
    ) -> None:
        self.store = store
        self.execution_id = execution_id
        self.worker_id = worker_id
        self.on_lost = on_lost
        self.lost = False
        self._masking = LineMasking(masker or Masker())
        self._pending: list[LogLine] = []
        self._seq = 0
        self._failing = False
        self._stop = asyncio.Event()
        self._came = asyncio.Event()  # lines are pending
        self._flusher: asyncio.Task[None] | None = None

    def add(self, line: OutputLine) -> None:
        if self.lost:
            LOG_LINES_DROPPED.labels(reason="lease_lost").inc()
            return
        self._append(self._masking.feed(line))

    def _append(self, lines: list[OutputLine]) -> None:
        if lines:
            self._came.set()
        for line in lines:
            self._pending.append(
                LogLine(seq=self._seq, stream=line.stream, at=line.at, line=line.text)
            )
            self._seq += 1

    def lose(self) -> None:
        """This worker no longer holds the execution: drop what is pending and what comes."""
        if not self.lost:
            self.lost = True
            LOG_LINES_DROPPED.labels(reason="lease_lost").inc(len(self._pending))
            self._pending.clear()
            if self.on_lost is not None:
                self.on_lost(self.execution_id)

    async def __aenter__(self) -> LogWriter:
        self._flusher = asyncio.create_task(self._flush_regularly())
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        if self._flusher is not None:
            await self._flusher

    def take_pending(self, *, peek: bool = False) -> list[LogLine]:
        """The lines not stored yet, the last piece of a cut line included (the run has
        ended); with ``peek`` they stay pending (for a retried write)."""
        if not self.lost:
            self._append(self._masking.finish())
        if peek:
            return list(self._pending)
        lines, self._pending = self._pending, []
        return lines

    async def flush(self) -> None:
        while self._pending and not self.lost:
            batch = self._pending[:LOG_BATCH_LINES]
            try:
                await self.store.logs.append(self.execution_id, batch, self.worker_id)
            except LeaseLostError as exc:
                log.warning("%s; its later output is dropped", exc.message)
                self.lose()
                return
            del self._pending[: len(batch)]

    async def _flush_regularly(self) -> None:
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            while not self._stop.is_set():
                came = asyncio.ensure_future(self._came.wait())
                await asyncio.wait({came, stopping}, return_when=asyncio.FIRST_COMPLETED)
                came.cancel()
                if self._stop.is_set():
                    return
                # gather what comes with it, then store it all in one go
                delay = LOG_RETRY_SECONDS if self._failing else LOG_FLUSH_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stopping), timeout=delay)
                    return
                self._came.clear()
                await self._store_pending()
                if self._pending:
                    self._came.set()  # more came meanwhile, or the database is away
        finally:
            stopping.cancel()

    async def _store_pending(self) -> None:
        try:
            await self.flush()
        except StorageError as exc:
            if not self._failing:
                log.warning(
                    "could not store logs of execution %s (kept until the database is back): %s",
                    self.execution_id,
                    exc,
                )
            self._failing = True
            return
        except Exception:
            log.exception("could not store logs of execution %s", self.execution_id)
            self._failing = True  # tried again, less often
            return
        if self._failing:
            log.info("stored the logs of execution %s again", self.execution_id)
            self._failing = False
