"""The worker: claim -> prepare -> run -> record, each a named step.

``run_once`` handles one execution from claim to record (tests step it); ``run`` is the loop
that keeps up to ``concurrency`` executions going. It wakes at once when something is queued
(in this process, or anywhere through PostgreSQL's NOTIFY) and otherwise looks again every
``poll_interval`` seconds. A control loop beside it renews the leases of what runs, registers
the worker's heartbeat, requeues executions whose worker was lost, and stops the executions
someone cancelled. On stop it takes nothing new, lets what runs finish for ``shutdown_grace``
seconds, then cancels the rest with a reason; ``stop_now`` cancels at once. (Those settings are
the worker's :class:`~cronium.settings.WorkerSettings`.)

Every kind of event takes the same path: the runner of its kind (cronium.runners) prepares and
runs it, and :func:`record_of` turns the result into what is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronium.delivery import Outbox, Sender
from cronium.domain.event import Event, EventKind
from cronium.domain.execution import Execution, ExecutionStatus, status_of_run
from cronium.domain.worker import WorkerInfo
from cronium.errors import CroniumError, SandboxError, SandboxStartError, StorageError
from cronium.logs import Line, run_changed, run_started
from cronium.logwriter import LogWriter
from cronium.masking import Masker
from cronium.metrics import backend_of, count_claimed, count_ended, count_run, language_of
from cronium.recorder import Ended, NotStarted, Recorder
from cronium.runners import Runner, runners_for
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.spec import SandboxBackend, SandboxResult
from cronium.service import Clock, utcnow
from cronium.settings import WorkerSettings
from cronium.storage import RunRecord, Store
from cronium.storage.transactions import CANCEL_CHANNEL, DELIVERY_CHANNEL, QUEUE_CHANNEL
from cronium.supervision import Health

log = logging.getLogger(__name__)

LEASE_LOST_REASON = "this worker lost its lease on the execution"
SHUTDOWN_REASON = "cancelled: the worker stopped while the execution ran"
USER_CANCEL_REASON = "cancelled by a user"


def default_worker_id() -> str:
    """``host:pid``: unique among live workers, and says where to look."""
    return f"{socket.gethostname()}:{os.getpid()}"


def record_of(result: SandboxResult, now: datetime, *, timeout: float) -> RunRecord:
    """What a run's result leaves on its execution, whichever runner ran it."""
    status = _status_of(result)
    return RunRecord(
        status=status,
        finished_at=now,
        output=result.output,
        exit_code=result.exit_code,
        signal=result.signal,
        timed_out=result.timed_out,
        oom_killed=result.oom_killed,
        error=_error_of(result, status, timeout),
        setup_seconds=result.setup_seconds,
        run_seconds=result.run_seconds,
        cleanup_seconds=result.cleanup_seconds,
        peak_memory_bytes=result.peak_memory_bytes,
        cpu_seconds=result.cpu_seconds,
    )


def masked(record: RunRecord, masker: Masker) -> RunRecord:
    """``record`` with its owner's secrets masked in its output and error (its condition is a
    boolean)."""
    if not masker:
        return record
    return dataclasses.replace(
        record, output=masker.json(record.output), error=masker.optional(record.error)
    )


def _status_of(result: SandboxResult) -> ExecutionStatus:
    """By the exit code, unless the run has none and says itself whether it succeeded."""
    if result.succeeded is None or result.cancelled or result.timed_out:
        return status_of_run(
            exit_code=result.exit_code, timed_out=result.timed_out, cancelled=result.cancelled
        )
    return ExecutionStatus.SUCCEEDED if result.succeeded else ExecutionStatus.FAILED


def _error_of(result: SandboxResult, status: ExecutionStatus, timeout: float) -> str | None:
    if status is ExecutionStatus.TIMED_OUT:
        return f"timed out after {timeout:g} s"
    if status is ExecutionStatus.CANCELLED:
        return "cancelled"
    if status is ExecutionStatus.FAILED and result.oom_killed:
        return "killed: it ran out of memory (raise its memory_mb limit)"
    if status is ExecutionStatus.FAILED and result.error is None and result.exit_code is None:
        return f"killed by signal {result.signal}"
    return result.error


@dataclass
class Worker:
    """Claims queued executions and runs each with the runner of its event's kind: scripts in
    sandboxes of ``backend``, HTTP requests itself."""

    store: Store
    backend: SandboxBackend
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    runtime: RuntimeServer | None = None
    worker_id: str = field(default_factory=default_worker_id)
    clock: Clock = utcnow
    health: Health = field(default_factory=Health)
    _runners: Mapping[EventKind, Runner[Any]] = field(init=False)
    _recorder: Recorder = field(init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _cancels: dict[int, asyncio.Event] = field(default_factory=dict, init=False)
    _cancel_reasons: dict[int, str] = field(default_factory=dict, init=False)
    _stopping: bool = field(default=False, init=False)
    # executions whose run is in progress (not yet being recorded)
    _running: set[int] = field(default_factory=set, init=False)
    # executions this worker holds, from claim to record: the only leases its heartbeat renews
    _held: set[int] = field(default_factory=set, init=False)
    # the masking of each held execution's records (its owner's secrets)
    _maskers: dict[int, Masker] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        sender = Sender(self.store, self.settings.egress, self.settings.delivery, self.clock)
        self.outbox = Outbox(sender)
        self._runners = runners_for(
            self.backend,
            self.settings,
            runtime=self.runtime,
            worker_id=self.worker_id,
            clock=self.clock,
            sender=sender,
        )
        self._recorder = Recorder(self.store, self.worker_id, self.clock)

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
            self.worker_id,
            self.clock(),
            lease=self.settings.lease,
            pools=self.settings.tags,
            limit=limit,
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

    async def _execute_one(self, execution: Execution, event: Event) -> Ended:
        """Run and record one execution; a bug on the way fails it with the reason rather than
        leaving it ``running`` (its lease is renewed only while it is held here)."""
        self._held.add(execution.id)
        self._say(run_started(execution, event))
        count_claimed(execution)
        try:
            ended = await self._run_and_record(execution, event)
        except Exception as exc:
            log.exception("the worker failed running execution %s", execution.id)
            masker = self._maskers.get(execution.id, Masker())
            failed = self._failed(masker.text(f"internal error of the worker: {exc!r}")[:2000])
            ended = await self._recorder.record(
                lambda: self.store.queue.record_and_continue(execution.id, self.worker_id, failed),
                (execution, None),
            )
        finally:
            self._held.discard(execution.id)
            self._maskers.pop(execution.id, None)
        if (changed := run_changed(ended[0], event)) is not None:
            self._say(changed)
        self._count(ended[0], event)
        return ended

    def _say(self, line: Line) -> None:
        """Write a run's line to the process log, with this worker's id."""
        dataclasses.replace(line, values={**line.values, "worker": self.worker_id}).write(log)

    def _count(self, execution: Execution, event: Event) -> None:
        """The metrics of a run that ended here (none for one given back to the queue)."""
        if not execution.status.is_terminal:
            return
        language = language_of(event.kind, event.language)
        backend = backend_of(event.kind, self.backend.name)
        count_ended(execution, language=language, backend=backend)
        count_run(execution, language=language, backend=backend)

    async def _run_and_record(self, execution: Execution, event: Event) -> Ended:
        """prepare -> run -> record, with the runner of the event's kind; every secret of the
        event's owner is masked in what the run leaves (lines, output, error)."""
        runner = self._runners[event.kind]
        try:
            secrets = await self.store.variables.secret_values(event.owner_id, self.clock())
        except StorageError as exc:  # the database away: the run never started, give it back
            reason = f"could not read its owner's secrets: {exc.message}"
            return await self._recorder.release(execution, NotStarted(reason)), None
        try:
            masker = self._maskers[execution.id] = Masker(secrets.values())
            job = runner.prepare(execution, event, secrets)
        except CroniumError as exc:
            refused = self._failed(exc.message)
            return await self.store.queue.record(execution.id, self.worker_id, refused), None
        cancel = self._cancels.setdefault(execution.id, asyncio.Event())
        self._running.add(execution.id)
        if execution.cancel_requested_at is not None:
            self.request_cancel(execution.id)
        try:
            writer = LogWriter(self.store, execution.id, self.worker_id, self._lose, masker)
            async with writer as logs:
                time_limit = event.limits.timeout_seconds
                ran = await self._run(runner, job, logs, cancel, time_limit=time_limit)
                if isinstance(ran, NotStarted):
                    ran = NotStarted(masker.text(ran.reason))
                if isinstance(ran, NotStarted):
                    logs.take_pending()  # what the backend said is in the reason
                    cancelled = self._cancel_reason(execution.id) if cancel.is_set() else None
                    ended = self._recorder.give_back(execution, ran, cancelled)
                    if ended is None:
                        return await self._recorder.release(execution, ran), None
                    record = ended
                else:
                    record = self._with_results(execution.id, ran)
            self._running.discard(execution.id)
            if logs.lost:
                return execution, None
            stored = await self._store_end(execution, masked(record, masker), logs)
            if any(action.notify is not None for action in event.actions):
                self.outbox.wake()  # its messages are due (other ends wait for the poll)
            return stored
        finally:
            self._running.discard(execution.id)
            self._cancels.pop(execution.id, None)
            self._cancel_reasons.pop(execution.id, None)
            if self.runtime is not None:
                self.runtime.dismiss(execution.id)

    async def _run(
        self,
        runner: Runner[Any],
        job: Any,
        logs: LogWriter,
        cancel: asyncio.Event,
        *,
        time_limit: float,
    ) -> RunRecord | NotStarted:
        """The runner's run of ``job`` (the execution of ``logs``), and its record; a failure
        of the runner fails it."""
        execution_id = logs.execution_id
        try:
            result = await runner.run(job, logs.add, cancel)
        except SandboxStartError as exc:
            return NotStarted(exc.message)
        except SandboxError as exc:
            reason = self._maskers.get(execution_id, Masker()).text(str(exc))
            log.warning("sandbox failed for execution %s: %s", execution_id, reason)
            return self._failed(reason)
        except Exception as exc:
            log.exception("execution %s failed inside the worker", execution_id)
            return self._failed(f"internal error of the worker: {exc!r}")
        record = record_of(result, self.clock(), timeout=time_limit)
        if result.cancelled:
            record = dataclasses.replace(record, error=self._cancel_reason(execution_id))
        return record

    async def _store_end(self, execution: Execution, record: RunRecord, logs: LogWriter) -> Ended:
        """The last lines and the result, in one transaction (its actions' messages are sent
        by the outbox)."""
        return await self._recorder.record(
            lambda: self.store.queue.record_and_continue(
                execution.id,
                self.worker_id,
                record,
                logs.take_pending(peek=True),
                retry_jitter=random.random(),
                pools=None if self._stopping else self.settings.tags,
                lease=self.settings.lease,
            ),
            (execution, None),
        )

    def _failed(self, reason: str) -> RunRecord:
        return RunRecord(status=ExecutionStatus.FAILED, finished_at=self.clock(), error=reason)

    def _cancel_reason(self, execution_id: int) -> str:
        return self._cancel_reasons.get(execution_id, USER_CANCEL_REASON)

    def _lose(self, execution_id: int) -> None:
        """This worker no longer holds the execution: stop its run and its token now."""
        self._running.discard(execution_id)
        self.request_cancel(execution_id, LEASE_LOST_REASON)
        if self.runtime is not None:
            self.runtime.dismiss(execution_id)

    def _with_results(self, execution_id: int, record: RunRecord) -> RunRecord:
        """The record with what the script handed over through the runtime API (its output
        replaces the run's own)."""
        if self.runtime is None:
            return record
        handed = self.runtime.results(execution_id)
        output = handed.output if handed.output_set else record.output
        return dataclasses.replace(record, output=output, condition=handed.condition)

    async def run(self, stop: asyncio.Event, stop_now: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set, drain (see the module's docstring), then return."""
        tasks: set[asyncio.Task[Execution]] = set()
        if self.runtime is not None:
            self.health.adopt(self.runtime.health)
        await self.register()
        listener = self.health.loop("worker notifications")
        channels = [QUEUE_CHANNEL, CANCEL_CHANNEL, DELIVERY_CHANNEL]
        async with self.store.listen(channels, self._on_notify, listener):
            control = asyncio.create_task(self._control_loop())
            outbox = asyncio.create_task(self.outbox.run())
            self.health.adopt(self.outbox.health)
            stopper = asyncio.create_task(stop.wait())
            try:
                while not stop.is_set():
                    await self._idle(tasks, stopper, await self._fill(tasks))
            finally:
                stopper.cancel()
                await self._drain(tasks, stop_now)
                self.outbox.stop()  # what it sends now is recorded (bounded by the grace)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(outbox), self.settings.shutdown_grace)
                for loop in (control, outbox):
                    loop.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await loop
        await asyncio.to_thread(self.backend.close)
        try:
            await self.store.workers.stop(self.worker_id, self.clock())
        except StorageError as exc:
            log.warning("could not record that worker %s stopped: %s", self.worker_id, exc)

    async def register(self) -> None:
        """Say who this worker is, and clean up after crashed workers of this host."""
        info = info_of(self.worker_id, self.backend.name, self.settings, self.clock())
        await self.store.workers.register(info)
        await remove_leftovers(self.backend)

    def _on_notify(self, channel: str, payload: str) -> None:
        if channel in (QUEUE_CHANNEL, ""):  # "": the listener is back, look at once
            self.wake()
            self.outbox.wake()
        elif channel == DELIVERY_CHANNEL:
            self.outbox.wake()
        elif channel == CANCEL_CHANNEL and payload.isdigit():
            self.request_cancel(int(payload))

    async def _control_loop(self) -> None:
        """Cancellations, heartbeats and lost leases, supervised (see cronium.supervision)."""
        health = self.health.loop("worker control")
        last_heartbeat = -self.settings.heartbeat_interval
        loop = asyncio.get_running_loop()
        while True:
            delay = self.settings.control_interval
            try:
                for execution_id in await self.store.queue.cancel_requests(self.worker_id):
                    self.request_cancel(execution_id)
                if loop.time() - last_heartbeat >= self.settings.heartbeat_interval:
                    await self.heartbeat()
                    last_heartbeat = loop.time()
                health.succeeded()
            except Exception as exc:
                # the usual backoff, but never so long that the leases held here run out
                # while the database is back: a renewal is tried again well within one
                delay = min(max(delay, health.failed(exc)), self.settings.heartbeat_interval / 4)
            await asyncio.sleep(delay)

    async def heartbeat(self) -> None:
        """Renew the leases of what runs here, and requeue what lost workers left."""
        now = self.clock()
        held = set(self._running)
        renewed = await self.store.queue.renew_leases(
            self.worker_id, now, self.settings.lease, self._held
        )
        for execution_id in sorted((held - renewed) & self._running):
            log.warning(
                "execution %s is no longer this worker's (its lease ran out, and it was failed"
                " as lost or run elsewhere): its sandbox is stopped and its late output dropped",
                execution_id,
            )
            self._lose(execution_id)
        await self.store.workers.heartbeat(self.worker_id, now, len(renewed))
        for requeued in await self.store.queue.requeue_expired(now):  # the queue logs each
            if requeued.retry is not None:
                self.wake()

    async def _fill(self, tasks: set[asyncio.Task[Execution]]) -> float:
        """Claim up to the free capacity; the seconds to wait before claiming again."""
        health = self.health.loop("worker claims")
        self._wake.clear()
        while len(tasks) < self.settings.concurrency:
            try:
                claimed = await self.claim(limit=self.settings.concurrency - len(tasks))
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
        return self.settings.poll_interval

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
        deadline = loop.time() + self.settings.shutdown_grace
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
        self._recorder.give_up_in(self.settings.record_give_up)
        for execution_id in list(self._cancels):
            self.request_cancel(execution_id, SHUTDOWN_REASON)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def info_of(worker_id: str, backend: str, settings: WorkerSettings, now: datetime) -> WorkerInfo:
    """What the workers' table says of a worker that starts now."""
    host, _, pid = worker_id.rpartition(":")
    return WorkerInfo(
        id=worker_id,
        host=host or socket.gethostname(),
        pid=int(pid) if pid.isdigit() else os.getpid(),
        backend=backend,
        tags=tuple(sorted(settings.tags)),
        capacity=settings.concurrency,
        running=0,
        started_at=now,
        last_heartbeat_at=now,
    )


async def remove_leftovers(backend: SandboxBackend) -> None:
    """Remove sandboxes that crashed workers of this host left behind: those of processes
    that are gone (by their pid and the time they started: a reused pid is not taken for
    the worker that had it)."""
    try:
        removed = await asyncio.to_thread(backend.remove_leftovers)
    except CroniumError as exc:
        log.warning("could not look for leftover sandboxes: %s", exc)
        return
    if removed:
        log.warning("removed %d sandbox(es) left by a stopped worker: %s", len(removed), removed)


def _report_failure(execution_id: int) -> Callable[[asyncio.Task[Execution]], None]:
    """A done-callback that logs what ended a run's task other than its result."""

    def report(task: asyncio.Task[Execution]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("the worker failed running execution %s", execution_id, exc_info=exc)

    return report
