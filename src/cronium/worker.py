"""The worker: claim -> prepare -> run -> record, each a named step.

``run_once`` handles one execution from claim to record (tests step it); ``run`` is the loop
that keeps up to ``concurrency`` executions going, wakes at once when told that something was
queued, and otherwise looks again every ``poll_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

from cronium.domain.event import Event
from cronium.domain.execution import Execution, ExecutionStatus, status_of_run
from cronium.errors import CroniumError, PermissionDeniedError, SandboxError
from cronium.runtime.registry import ActiveExecution
from cronium.runtime.server import SANDBOX_URL, RuntimeServer
from cronium.sandbox.spec import (
    DEFAULT_OUTPUT_CAP,
    OutputLine,
    SandboxBackend,
    SandboxResult,
    SandboxSpec,
)
from cronium.service import EGRESS_REFUSED, Clock, utcnow
from cronium.storage import LogLine, RunRecord, Store

log = logging.getLogger(__name__)

LOG_FLUSH_SECONDS = 0.2
SHUTDOWN_REASON = "cancelled: the worker stopped while the execution ran"


def default_worker_id() -> str:
    """``host:pid``: unique among live workers, and says where to look."""
    return f"{socket.gethostname()}:{os.getpid()}"


def record_of(result: SandboxResult, now: datetime, *, timeout: float) -> RunRecord:
    """What a sandbox result leaves on its execution."""
    status = status_of_run(
        exit_code=result.exit_code, timed_out=result.timed_out, cancelled=result.cancelled
    )
    error = {
        ExecutionStatus.TIMED_OUT: f"timed out after {timeout:g} s",
        ExecutionStatus.CANCELLED: "cancelled",
    }.get(status)
    if status is ExecutionStatus.FAILED and result.exit_code is None:
        error = f"killed by signal {result.signal}"
    return RunRecord(
        status=status,
        finished_at=now,
        exit_code=result.exit_code,
        signal=result.signal,
        timed_out=result.timed_out,
        oom_killed=result.oom_killed,
        error=error,
        setup_seconds=result.setup_seconds,
        run_seconds=result.run_seconds,
        cleanup_seconds=result.cleanup_seconds,
        peak_memory_bytes=result.peak_memory_bytes,
        cpu_seconds=result.cpu_seconds,
    )


class LogWriter:
    """Numbers a run's output lines and writes them to the store in small batches."""

    def __init__(self, store: Store, execution_id: int) -> None:
        self.store = store
        self.execution_id = execution_id
        self._pending: list[LogLine] = []
        self._seq = 0
        self._flusher: asyncio.Task[None] | None = None

    def add(self, line: OutputLine) -> None:
        self._pending.append(LogLine(seq=self._seq, stream=line.stream, at=line.at, line=line.text))
        self._seq += 1

    async def __aenter__(self) -> LogWriter:
        self._flusher = asyncio.create_task(self._flush_regularly())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    async def flush(self) -> None:
        lines, self._pending = self._pending, []
        await self.store.append_logs(self.execution_id, lines)

    async def _flush_regularly(self) -> None:
        while True:
            await asyncio.sleep(LOG_FLUSH_SECONDS)
            try:
                await self.flush()
            except CroniumError as exc:
                log.warning("could not store logs of execution %s: %s", self.execution_id, exc)


@dataclass
class Worker:
    """Claims queued executions and runs them in sandboxes of ``backend``."""

    store: Store
    backend: SandboxBackend
    worker_id: str = field(default_factory=default_worker_id)
    concurrency: int = 4
    poll_interval: float = 1.0
    output_cap_bytes: int = DEFAULT_OUTPUT_CAP
    allow_egress: bool = False
    runtime: RuntimeServer | None = None
    clock: Clock = utcnow
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _cancels: dict[int, asyncio.Event] = field(default_factory=dict, init=False)
    _stopping: bool = field(default=False, init=False)

    def wake(self) -> None:
        """Look for queued executions now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> bool:
        """Claim one queued execution and run it to its end; False if none was queued."""
        claimed = await self.claim()
        if claimed is None:
            return False
        await self.execute(*claimed)
        return True

    async def claim(self) -> tuple[Execution, Event] | None:
        return await self.store.claim_next(self.worker_id, self.clock())

    def prepare(self, execution: Execution, event: Event) -> SandboxSpec:
        """The sandbox spec of a claimed execution; PermissionDeniedError if policy forbids it.

        With a runtime API, the execution is admitted to it: its token goes into the sandbox's
        environment and the API's socket into the sandbox.
        """
        if event.network == "egress" and not self.allow_egress:
            raise PermissionDeniedError(EGRESS_REFUSED)
        env = {**event.env, "CRONIUM_EVENT_ID": str(event.id)}
        if self.runtime is not None:
            token = self.runtime.admit(
                ActiveExecution(
                    execution_id=execution.id,
                    event_id=event.id,
                    event_name=event.name,
                    language=event.language.value,
                    owner_id=event.owner_id,
                    attempt=execution.attempt,
                    trigger=execution.trigger,
                    scheduled_at=execution.scheduled_at,
                    input=execution.input,
                ),
                now=self.clock(),
                timeout=event.limits.timeout_seconds,
            )
            env |= {"CRONIUM_RUNTIME_API": SANDBOX_URL, "CRONIUM_EXECUTION_TOKEN": token}
        return SandboxSpec(
            execution_id=execution.id,
            language=event.language,
            script=event.script,
            env=env,
            runtime_socket=None if self.runtime is None else self.runtime.socket_path,
            input=execution.input,
            limits=event.limits,
            network=event.network,
            output_cap_bytes=self.output_cap_bytes,
        )

    async def execute(self, execution: Execution, event: Event) -> Execution:
        """Run a claimed execution and record how it ended; never raises for the script's sake."""
        try:
            spec = self.prepare(execution, event)
        except CroniumError as exc:
            refused = RunRecord(
                status=ExecutionStatus.FAILED, finished_at=self.clock(), error=exc.message
            )
            return await self.store.record_run(execution.id, self.worker_id, refused)
        cancel = self._cancels.setdefault(execution.id, asyncio.Event())
        try:
            async with LogWriter(self.store, execution.id) as logs:
                record = await self._run(spec, logs, cancel)
            return await self.store.record_run(execution.id, self.worker_id, record)
        finally:
            self._cancels.pop(execution.id, None)
            if self.runtime is not None:
                self.runtime.dismiss(execution.id)

    async def _run(self, spec: SandboxSpec, logs: LogWriter, cancel: asyncio.Event) -> RunRecord:
        try:
            result = await self.backend.run(spec, logs.add, cancel)
        except SandboxError as exc:
            log.warning("sandbox failed for execution %s: %s", spec.execution_id, exc)
            return RunRecord(
                status=ExecutionStatus.FAILED, finished_at=self.clock(), error=str(exc)
            )
        except Exception as exc:
            log.exception("execution %s failed inside the worker", spec.execution_id)
            return RunRecord(
                status=ExecutionStatus.FAILED,
                finished_at=self.clock(),
                error=f"internal error of the worker: {exc!r}",
            )
        record = record_of(result, self.clock(), timeout=spec.limits.timeout_seconds)
        if result.cancelled and self._stopping:
            record = dataclasses.replace(record, error=SHUTDOWN_REASON)
        return record

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; then cancel what still runs and wait until it is recorded."""
        tasks: set[asyncio.Task[Execution]] = set()
        await self.remove_leftovers()
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                await self._fill(tasks)
                await self._idle(tasks, stopper)
        finally:
            stopper.cancel()
            await self._drain(tasks)

    async def remove_leftovers(self) -> None:
        """Remove sandboxes that crashed workers of this host left behind."""
        try:
            removed = await asyncio.to_thread(self.backend.remove_leftovers)
        except CroniumError as exc:
            log.warning("could not look for leftover sandboxes: %s", exc)
            return
        if removed:
            log.warning(
                "removed %d sandbox(es) left by a stopped worker: %s", len(removed), removed
            )

    async def _fill(self, tasks: set[asyncio.Task[Execution]]) -> None:
        self._wake.clear()
        while len(tasks) < self.concurrency:
            try:
                claimed = await self.claim()
            except CroniumError as exc:
                log.warning("could not claim an execution: %s", exc)
                return
            if claimed is None:
                return
            task = asyncio.create_task(self.execute(*claimed))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _idle(self, tasks: set[asyncio.Task[Execution]], stopper: asyncio.Task[bool]) -> None:
        waker = asyncio.create_task(self._wake.wait())
        waiting: set[asyncio.Future[object]] = {waker, stopper, *tasks}  # type: ignore[arg-type]
        try:
            await asyncio.wait(
                waiting, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waker.cancel()

    async def _drain(self, tasks: set[asyncio.Task[Execution]]) -> None:
        self._stopping = True
        for cancel in self._cancels.values():
            cancel.set()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
