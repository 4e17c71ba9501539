"""The worker: claim -> prepare -> run -> record, each a named step.

``run_once`` handles one execution from claim to record (tests step it); ``run`` is the loop
that keeps up to ``concurrency`` executions going. It wakes at once when something is queued
(in this process, or anywhere through PostgreSQL's NOTIFY) and otherwise looks again every
``poll_interval`` seconds. A control loop beside it renews the leases of what runs, registers
the worker's heartbeat, requeues executions whose worker was lost, and stops the executions
someone cancelled. On stop it takes nothing new, lets what runs finish for ``shutdown_grace``
seconds, then cancels the rest with a reason; ``stop_now`` cancels at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cronium.actions import http
from cronium.domain.event import Event, EventKind
from cronium.domain.execution import (
    MAX_START_FAILURES,
    Execution,
    ExecutionStatus,
    status_of_run,
)
from cronium.domain.worker import DEFAULT_LEASE, WorkerInfo
from cronium.errors import (
    CroniumError,
    LeaseLostError,
    PermissionDeniedError,
    SandboxError,
    SandboxStartError,
    StorageError,
)
from cronium.runtime.registry import ActiveExecution
from cronium.runtime.server import SANDBOX_URL, RuntimeServer
from cronium.sandbox.spec import (
    DEFAULT_OUTPUT_CAP,
    DEFAULT_OUTPUT_LINES,
    OutputLine,
    SandboxBackend,
    SandboxResult,
    SandboxSpec,
)
from cronium.service import EGRESS_REFUSED, Clock, utcnow
from cronium.storage import LogLine, RunRecord, Store
from cronium.storage.transactions import CANCEL_CHANNEL, QUEUE_CHANNEL
from cronium.supervision import Health

log = logging.getLogger(__name__)

LOG_FLUSH_SECONDS = 0.2
LOG_BATCH_LINES = 2000
RECORD_RETRY_MAX_SECONDS = 5.0
# after the grace, a stopping worker tries this long more to store what ended, then exits
RECORD_GIVE_UP_SECONDS = 10.0
LEASE_LOST_REASON = "this worker lost its lease on the execution"
SHUTDOWN_REASON = "cancelled: the worker stopped while the execution ran"
USER_CANCEL_REASON = "cancelled by a user"


def default_capacity() -> int:
    """Concurrent sandboxes a worker takes by default: four per core (scripts mostly wait),
    and at most one per 512 MiB of memory."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 2 * 1024**3
    return max(1, min(4 * cores, memory // (512 * 1024**2)))


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
    """Numbers a run's output lines and writes them to the store in batches.

    Every ``LOG_FLUSH_SECONDS`` what is pending is written in transactions of at most
    ``LOG_BATCH_LINES`` lines. A batch leaves the pending lines only once it is stored, so
    while the database is away they wait here (bounded by the run's output caps); on exit the
    writer finishes the batch it is writing (never interrupts it) and leaves the rest to
    ``take_pending``. Once the store refuses a batch because this worker no longer holds the
    execution, ``on_lost`` is called and every later line is dropped.
    """

    def __init__(
        self,
        store: Store,
        execution_id: int,
        worker_id: str | None = None,
        on_lost: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.execution_id = execution_id
        self.worker_id = worker_id
        self.on_lost = on_lost
        self.lost = False
        self._pending: list[LogLine] = []
        self._seq = 0
        self._failing = False
        self._stop = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    def add(self, line: OutputLine) -> None:
        if self.lost:
            return
        self._pending.append(LogLine(seq=self._seq, stream=line.stream, at=line.at, line=line.text))
        self._seq += 1

    def lose(self) -> None:
        """This worker no longer holds the execution: drop what is pending and what comes."""
        if not self.lost:
            self.lost = True
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
        """The lines not stored yet; with ``peek`` they stay pending (for a retried write)."""
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
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=LOG_FLUSH_SECONDS)
                return
            try:
                await self.flush()
            except StorageError as exc:
                if not self._failing:
                    log.warning(
                        "could not store logs of execution %s (kept until the database is back):"
                        " %s",
                        self.execution_id,
                        exc,
                    )
                self._failing = True
                continue
            except Exception:
                log.exception("could not store logs of execution %s", self.execution_id)
                continue
            if self._failing:
                log.info("stored the logs of execution %s again", self.execution_id)
                self._failing = False


@dataclass(frozen=True, slots=True)
class NotStarted:
    """The sandbox could not be set up: the script never started, and why."""

    reason: str


@dataclass
class Worker:
    """Claims queued executions and runs them in sandboxes of ``backend``."""

    store: Store
    backend: SandboxBackend
    worker_id: str = field(default_factory=default_worker_id)
    concurrency: int = 4
    poll_interval: float = 1.0
    output_cap_bytes: int = DEFAULT_OUTPUT_CAP
    output_max_lines: int = DEFAULT_OUTPUT_LINES
    allow_egress: bool = False
    http_max_body: int = http.DEFAULT_MAX_BODY
    http_allow_private: bool = False
    runtime: RuntimeServer | None = None
    tags: frozenset[str] = frozenset()
    lease: timedelta = DEFAULT_LEASE
    heartbeat_interval: float = 5.0
    control_interval: float = 0.25
    shutdown_grace: float = 30.0
    record_give_up: float = RECORD_GIVE_UP_SECONDS
    clock: Clock = utcnow
    health: Health = field(default_factory=Health)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _cancels: dict[int, asyncio.Event] = field(default_factory=dict, init=False)
    _cancel_reasons: dict[int, str] = field(default_factory=dict, init=False)
    _stopping: bool = field(default=False, init=False)
    # when a stopping worker stops trying to store what ended (loop time), once drained
    _give_up_at: float | None = field(default=None, init=False)
    # executions whose sandbox or request is in progress (not yet being recorded)
    _running: set[int] = field(default_factory=set, init=False)
    # executions this worker holds, from claim to record: the only leases its heartbeat renews
    _held: set[int] = field(default_factory=set, init=False)

    def wake(self) -> None:
        """Look for queued executions now rather than at the next poll."""
        self._wake.set()

    def request_cancel(self, execution_id: int, reason: str = USER_CANCEL_REASON) -> None:
        """Stop one of the executions this worker runs (if it runs it)."""
        cancel = self._cancels.get(execution_id)
        if cancel is not None and not cancel.is_set():
            self._cancel_reasons[execution_id] = reason
            cancel.set()

    async def run_once(self) -> bool:
        """Claim one queued execution and run it to its end; False if none was queued."""
        claimed = await self.claim()
        if not claimed:
            return False
        await self.execute(*claimed[0])
        return True

    async def claim(self, limit: int = 1) -> list[tuple[Execution, Event]]:
        return await self.store.queue.claim(
            self.worker_id, self.clock(), lease=self.lease, pools=self.tags, limit=limit
        )

    def prepare(self, execution: Execution, event: Event) -> SandboxSpec:
        """The sandbox spec of a claimed execution; PermissionDeniedError if policy forbids it.

        With a runtime API, the execution is admitted to it: its token goes into the sandbox as
        a file (never the environment) and the API's socket too; once the backend gives the
        run its host uid (see ``_run``), only callers of that uid may use the token.
        """
        if event.network == "egress" and not self.allow_egress:
            raise PermissionDeniedError(EGRESS_REFUSED)
        language = event.language
        assert language is not None, "a script event has a language"
        env = {**event.env, "CRONIUM_EVENT_ID": str(event.id)}
        token = None
        if self.runtime is not None:
            token = self.runtime.admit(
                ActiveExecution(
                    execution_id=execution.id,
                    event_id=event.id,
                    event_name=event.name,
                    language=language.value,
                    owner_id=event.owner_id,
                    attempt=execution.attempt,
                    trigger=execution.trigger,
                    scheduled_at=execution.scheduled_at,
                    input=execution.input,
                    worker_id=self.worker_id,
                ),
                now=self.clock(),
                timeout=event.limits.timeout_seconds,
            )
            env |= {"CRONIUM_RUNTIME_API": SANDBOX_URL}
        return SandboxSpec(
            execution_id=execution.id,
            language=language,
            script=event.script,
            env=env,
            token=token,
            runtime_socket=None if self.runtime is None else self.runtime.socket_path,
            input=execution.input,
            limits=event.limits,
            network=event.network,
            output_cap_bytes=self.output_cap_bytes,
            output_max_lines=self.output_max_lines,
        )

    async def execute(self, execution: Execution, event: Event) -> Execution:
        """Run a claimed execution and record how it ended; never raises for the script's sake.

        If its end makes the next node of its workflow run ready, that node is handed to this
        worker in the same transaction, and run here at once (unless the worker is stopping).
        """
        taken: tuple[Execution, Event] | None = (execution, event)
        ended = execution
        while taken is not None:
            ended, taken = await self._execute_one(*taken)
        return ended

    async def _execute_one(
        self, execution: Execution, event: Event
    ) -> tuple[Execution, tuple[Execution, Event] | None]:
        """Run and record one execution; a bug on the way fails it with the reason rather than
        leaving it ``running`` (its lease is renewed only while it is held here)."""
        self._held.add(execution.id)
        try:
            return await self._run_and_record(execution, event)
        except Exception as exc:
            log.exception("the worker failed running execution %s", execution.id)
            failed = RunRecord(
                status=ExecutionStatus.FAILED,
                finished_at=self.clock(),
                error=f"internal error of the worker: {exc!r}"[:2000],
            )
            return await self._record(
                lambda: self.store.queue.record_and_continue(execution.id, self.worker_id, failed),
                (execution, None),
            )
        finally:
            self._held.discard(execution.id)

    async def _run_and_record(
        self, execution: Execution, event: Event
    ) -> tuple[Execution, tuple[Execution, Event] | None]:
        spec = None
        if event.kind is EventKind.SCRIPT:
            try:
                spec = self.prepare(execution, event)
            except CroniumError as exc:
                refused = RunRecord(
                    status=ExecutionStatus.FAILED, finished_at=self.clock(), error=exc.message
                )
                return await self.store.queue.record(execution.id, self.worker_id, refused), None
        cancel = self._cancels.setdefault(execution.id, asyncio.Event())
        self._running.add(execution.id)
        if execution.cancel_requested_at is not None:
            self.request_cancel(execution.id)
        try:
            async with LogWriter(self.store, execution.id, self.worker_id, self._lose) as logs:
                if spec is None:
                    record = await self._request(execution, event, logs, cancel)
                else:
                    ran = await self._run(spec, logs, cancel)
                    if isinstance(ran, NotStarted):
                        logs.take_pending()  # what the backend said is in the reason
                        ended = self._give_back(execution, ran, cancel)
                        if ended is None:
                            return await self._release(execution, ran), None
                        record = ended
                    else:
                        record = self._with_results(execution.id, ran)
            self._running.discard(execution.id)
            if logs.lost:
                return execution, None
            # the last lines and the result in one transaction
            return await self._record(
                lambda: self.store.queue.record_and_continue(
                    execution.id,
                    self.worker_id,
                    record,
                    logs.take_pending(peek=True),
                    retry_jitter=random.random(),
                    pools=None if self._stopping else self.tags,
                    lease=self.lease,
                ),
                (execution, None),
            )
        finally:
            self._running.discard(execution.id)
            self._cancels.pop(execution.id, None)
            self._cancel_reasons.pop(execution.id, None)
            if self.runtime is not None:
                self.runtime.dismiss(execution.id)

    async def _record(
        self,
        store: Callable[[], Awaitable[tuple[Execution, tuple[Execution, Event] | None]]],
        lost: tuple[Execution, tuple[Execution, Event] | None],
    ) -> tuple[Execution, tuple[Execution, Event] | None]:
        """Store a run's end, again and again while the database is away (with a capped
        back-off), until it is stored or the run turns out to be no longer this worker's.
        A stopping worker gives up once its drain is over: the run stays ``running`` until
        its lease runs out, then it is failed as lost (and retried) like any lost run."""
        delay = 0.1
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await store()
            except LeaseLostError as exc:
                log.warning("%s", exc.message)
                return lost
            except StorageError as exc:
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

    def _give_back(
        self, execution: Execution, not_started: NotStarted, cancel: asyncio.Event
    ) -> RunRecord | None:
        """None if a run that could not start goes back to the queue; else how it ends: it
        was cancelled meanwhile, or its sandbox failed to start too many times."""
        if cancel.is_set():
            reason = self._cancel_reasons.get(execution.id, USER_CANCEL_REASON)
            return RunRecord(status=ExecutionStatus.CANCELLED, finished_at=self.clock(),
                             error=reason)  # fmt: skip
        if execution.start_failures + 1 < MAX_START_FAILURES:
            return None
        return RunRecord(
            status=ExecutionStatus.FAILED,
            finished_at=self.clock(),
            error=f"the sandbox could not be set up {MAX_START_FAILURES} times; last time:"
            f" {not_started.reason}",
        )

    async def _release(self, execution: Execution, not_started: NotStarted) -> Execution:
        """Queue again a run whose sandbox could not be set up (the same attempt)."""
        log.warning(
            "the sandbox of execution %s could not be set up (%s): queued again",
            execution.id,
            not_started.reason,
        )
        released, _ = await self._record(
            lambda: self._released(execution.id, not_started.reason), (execution, None)
        )
        return released

    async def _released(
        self, execution_id: int, reason: str
    ) -> tuple[Execution, tuple[Execution, Event] | None]:
        released = await self.store.queue.release(
            execution_id,
            self.worker_id,
            self.clock(),
            f"not started on worker {self.worker_id}: {reason}",
        )
        return released, None

    def _lose(self, execution_id: int) -> None:
        """This worker no longer holds the execution: stop its sandbox and its token now."""
        self._running.discard(execution_id)
        self.request_cancel(execution_id, LEASE_LOST_REASON)
        if self.runtime is not None:
            self.runtime.dismiss(execution_id)

    def _with_results(self, execution_id: int, record: RunRecord) -> RunRecord:
        """The record with what the script handed over through the runtime API."""
        if self.runtime is None:
            return record
        handed = self.runtime.results(execution_id)
        return dataclasses.replace(
            record, output=handed.output if handed.output_set else None, condition=handed.condition
        )

    async def _run(
        self, spec: SandboxSpec, logs: LogWriter, cancel: asyncio.Event
    ) -> RunRecord | NotStarted:
        try:
            with self.backend.ids_for(spec.execution_id) as ids:
                if self.runtime is not None:
                    self.runtime.bind_uid(spec.execution_id, ids.uid)
                own = dataclasses.replace(spec, uid=ids.uid, gid=ids.gid)
                result = await self.backend.run(own, logs.add, cancel)
        except SandboxStartError as exc:
            return NotStarted(exc.message)
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
        if result.cancelled:
            reason = self._cancel_reasons.get(spec.execution_id, USER_CANCEL_REASON)
            record = dataclasses.replace(record, error=reason)
        return record

    async def _request(
        self, execution: Execution, event: Event, logs: LogWriter, cancel: asyncio.Event
    ) -> RunRecord:
        """An HTTP-request event: the worker makes the request, no sandbox needed."""
        assert event.http is not None

        def log_line(stream: str, text: str) -> None:
            logs.add(OutputLine(stream="stderr" if stream == "stderr" else "stdout",
                                at=self.clock(), text=text))  # fmt: skip

        outcome = await http.perform(
            event.http,
            execution.input,
            time_limit=event.limits.timeout_seconds,
            cancel=cancel,
            max_body=self.http_max_body,
            allow_private=self.http_allow_private,
            log=log_line,
        )
        error: str | None
        if outcome.cancelled:
            status = ExecutionStatus.CANCELLED
            error = self._cancel_reasons.get(execution.id, USER_CANCEL_REASON)
        elif outcome.timed_out:
            status, error = ExecutionStatus.TIMED_OUT, outcome.error
        else:
            failed = outcome.error is not None
            status = ExecutionStatus.FAILED if failed else ExecutionStatus.SUCCEEDED
            error = outcome.error
        return RunRecord(
            status=status,
            finished_at=self.clock(),
            output=outcome.output,
            error=error,
            timed_out=outcome.timed_out,
            run_seconds=outcome.seconds,
        )

    async def run(self, stop: asyncio.Event, stop_now: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set, drain (see the module's docstring), then return."""
        tasks: set[asyncio.Task[Execution]] = set()
        if self.runtime is not None:
            self.health.adopt(self.runtime.health)
        await self.register()
        listener = self.health.loop("worker notifications")
        async with self.store.listen([QUEUE_CHANNEL, CANCEL_CHANNEL], self._on_notify, listener):
            control = asyncio.create_task(self._control_loop())
            stopper = asyncio.create_task(stop.wait())
            try:
                while not stop.is_set():
                    await self._idle(tasks, stopper, await self._fill(tasks))
            finally:
                stopper.cancel()
                await self._drain(tasks, stop_now)
                control.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await control
        await asyncio.to_thread(self.backend.close)
        try:
            await self.store.workers.stop(self.worker_id, self.clock())
        except StorageError as exc:
            log.warning("could not record that worker %s stopped: %s", self.worker_id, exc)

    async def register(self) -> None:
        """Say who this worker is, and clean up after crashed workers of this host."""
        host, _, pid = self.worker_id.rpartition(":")
        now = self.clock()
        await self.store.workers.register(
            WorkerInfo(
                id=self.worker_id,
                host=host or socket.gethostname(),
                pid=int(pid) if pid.isdigit() else os.getpid(),
                backend=self.backend.name,
                tags=tuple(sorted(self.tags)),
                capacity=self.concurrency,
                running=0,
                started_at=now,
                last_heartbeat_at=now,
            )
        )
        await self.remove_leftovers()

    async def remove_leftovers(self) -> None:
        """Remove sandboxes that crashed workers of this host left behind: those of processes
        that are gone (by their pid and the time they started: a reused pid is not taken for
        the worker that had it)."""
        try:
            removed = await asyncio.to_thread(self.backend.remove_leftovers)
        except CroniumError as exc:
            log.warning("could not look for leftover sandboxes: %s", exc)
            return
        if removed:
            log.warning(
                "removed %d sandbox(es) left by a stopped worker: %s", len(removed), removed
            )

    def _on_notify(self, channel: str, payload: str) -> None:
        if channel in (QUEUE_CHANNEL, ""):  # "": the listener is back, look at once
            self.wake()
        elif channel == CANCEL_CHANNEL and payload.isdigit():
            self.request_cancel(int(payload))

    async def _control_loop(self) -> None:
        """Cancellations, heartbeats and lost leases, supervised (see cronium.supervision)."""
        health = self.health.loop("worker control")
        last_heartbeat = -self.heartbeat_interval
        loop = asyncio.get_running_loop()
        while True:
            delay = self.control_interval
            try:
                for execution_id in await self.store.queue.cancel_requests(self.worker_id):
                    self.request_cancel(execution_id)
                if loop.time() - last_heartbeat >= self.heartbeat_interval:
                    await self.heartbeat()
                    last_heartbeat = loop.time()
                health.succeeded()
            except Exception as exc:
                delay = max(delay, health.failed(exc))
            await asyncio.sleep(delay)

    async def heartbeat(self) -> None:
        """Renew the leases of what runs here, and requeue what lost workers left."""
        now = self.clock()
        held = set(self._running)
        renewed = await self.store.queue.renew_leases(self.worker_id, now, self.lease, self._held)
        for execution_id in sorted((held - renewed) & self._running):
            log.warning(
                "execution %s is no longer this worker's (its lease ran out, and it was failed"
                " as lost or run elsewhere): its sandbox is stopped and its late output dropped",
                execution_id,
            )
            self._lose(execution_id)
        await self.store.workers.heartbeat(self.worker_id, now, len(renewed))
        for requeued in await self.store.queue.requeue_expired(now):
            log.warning(
                "execution %s was lost with its worker (%s)%s",
                requeued.lost.id,
                requeued.lost.worker_id,
                f"; queued again as {requeued.retry.id}" if requeued.retry else "",
            )
            if requeued.retry is not None:
                self.wake()

    async def _fill(self, tasks: set[asyncio.Task[Execution]]) -> float:
        """Claim up to the free capacity; the seconds to wait before claiming again."""
        health = self.health.loop("worker claims")
        self._wake.clear()
        while len(tasks) < self.concurrency:
            try:
                claimed = await self.claim(limit=self.concurrency - len(tasks))
            except Exception as exc:
                return health.failed(exc)
            health.succeeded()
            if not claimed:
                break
            for execution, event in claimed:
                task = asyncio.create_task(self.execute(execution, event))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(_report_failure(execution.id))
        return self.poll_interval

    async def _idle(
        self, tasks: set[asyncio.Task[Execution]], stopper: asyncio.Task[bool], wait: float
    ) -> None:
        waker = asyncio.create_task(self._wake.wait())
        waiting: set[asyncio.Future[object]] = {waker, stopper, *tasks}  # type: ignore[arg-type]
        try:
            await asyncio.wait(waiting, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()

    async def _drain(
        self, tasks: set[asyncio.Task[Execution]], stop_now: asyncio.Event | None
    ) -> None:
        """Let what runs finish for ``shutdown_grace`` seconds (or until ``stop_now``)."""
        self._stopping = True  # nothing new, not even the next node of a workflow run
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace
        interrupt = asyncio.ensure_future(stop_now.wait()) if stop_now is not None else None
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending and (interrupt is None or not interrupt.done()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            waiters = pending | ({interrupt} if interrupt is not None else set())
            done, _ = await asyncio.wait(
                waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            pending -= done
        if interrupt is not None:
            interrupt.cancel()
        self._give_up_at = loop.time() + self.record_give_up
        for execution_id in list(self._cancels):
            self.request_cancel(execution_id, SHUTDOWN_REASON)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _report_failure(execution_id: int) -> Callable[[asyncio.Task[Execution]], None]:
    """A done-callback that logs what ended a run's task other than its result."""

    def report(task: asyncio.Task[Execution]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("the worker failed running execution %s", execution_id, exc_info=exc)

    return report
