"""Supervising a sandbox's top process, the same way for every process-based backend.

Pumps stdout and stderr into capped lines as they come, waits for the process to exit, the
timeout to pass or a cancellation, then ends everything with SIGTERM, a grace period and SIGKILL
through the backend's ``signal_all`` (a process group, a cgroup...).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cronium.sandbox.output import LineCollector, collectors_of
from cronium.sandbox.spec import OutputSink, SandboxSpec

READ_CHUNK = 64 * 1024
Ending = Literal["exited", "timeout", "cancel"]
SignalAll = Callable[[signal.Signals], None]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the top process ended, before any interpretation by the backend."""

    returncode: int
    ending: Ending
    stdout_truncated: bool
    stderr_truncated: bool


class OutputPump:
    """Reads a process's stdout and stderr into capped lines until both close."""

    def __init__(
        self,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        spec: SandboxSpec,
        sink: OutputSink,
    ) -> None:
        self.stdout, self.stderr = collectors_of(spec, sink)
        self._done = asyncio.gather(_pump(stdout, self.stdout), _pump(stderr, self.stderr))

    @classmethod
    def of(
        cls, process: asyncio.subprocess.Process, spec: SandboxSpec, sink: OutputSink
    ) -> OutputPump:
        """A pump over the pipes asyncio made for ``process``."""
        assert process.stdout is not None
        assert process.stderr is not None
        return cls(process.stdout, process.stderr, spec, sink)

    async def wait(self) -> None:
        await self._done


async def supervise(
    process: asyncio.subprocess.Process,
    pump: OutputPump,
    spec: SandboxSpec,
    cancel: asyncio.Event | None,
    signal_all: SignalAll,
) -> Outcome:
    """Run ``process`` to its end under the spec's timeout; leave no process behind."""
    ending = await wait_for_end(process.pid, spec.limits.timeout_seconds, cancel)
    if ending != "exited":
        await terminate(process, spec.grace_seconds, signal_all)
    # Whatever the script left running goes too, so that the output pipes close.
    signal_all(signal.SIGKILL)
    await pump.wait()
    returncode = await process.wait()
    return Outcome(
        returncode=returncode,
        ending=ending,
        stdout_truncated=pump.stdout.truncated,
        stderr_truncated=pump.stderr.truncated,
    )


async def wait_for_end(pid: int, limit: float, cancel: asyncio.Event | None) -> Ending:
    """ "exited" once process ``pid`` exits, "timeout" after ``limit`` s, or "cancel"."""
    exited = asyncio.ensure_future(exit_of(pid))
    waiters: set[asyncio.Future[object]] = {exited}  # type: ignore[arg-type]
    cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    if cancelled is not None:
        waiters.add(cancelled)  # type: ignore[arg-type]
    try:
        await asyncio.wait(waiters, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if cancelled is not None:
            cancelled.cancel()
    if exited.done():
        return "exited"
    exited.cancel()
    return "cancel" if cancel is not None and cancel.is_set() else "timeout"


async def exit_of(pid: int) -> None:
    """Return once process ``pid`` has exited.

    Not ``Process.wait()``: that also waits for the output pipes to close, which a background
    process left by the script can hold open for as long as it likes.
    """
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(descriptor, on_exit)
    try:
        await exited
    finally:
        loop.remove_reader(descriptor)
        os.close(descriptor)


async def terminate(
    process: asyncio.subprocess.Process, grace: float, signal_all: SignalAll
) -> None:
    """SIGTERM to every process, then SIGKILL to all after ``grace`` seconds."""
    signal_all(signal.SIGTERM)
    try:
        await asyncio.wait_for(exit_of(process.pid), timeout=grace)
    except TimeoutError:
        signal_all(signal.SIGKILL)


class OwnedPipes:
    """stdout and stderr pipes owned by the sandbox user.

    A pipe made by the (root) worker cannot be reopened by uid 1000 through /dev/stdout or
    /dev/stderr, which scripts commonly write to; a pipe it owns can.
    """

    def __init__(self, uid: int, gid: int) -> None:
        self.stdout_read, self.stdout_write = os.pipe()
        self.stderr_read, self.stderr_write = os.pipe()
        for descriptor in (self.stdout_write, self.stderr_write):
            os.fchown(descriptor, uid, gid)

    def close_write_ends(self) -> None:
        """The child has its copies now; ours would keep the pipes open forever."""
        os.close(self.stdout_write)
        os.close(self.stderr_write)

    def close_all(self) -> None:
        for descriptor in (
            self.stdout_read,
            self.stdout_write,
            self.stderr_read,
            self.stderr_write,
        ):
            os.close(descriptor)

    async def readers(self) -> tuple[asyncio.StreamReader, asyncio.StreamReader]:
        """Stream readers over the read ends (which they then own and close)."""
        return await _reader(self.stdout_read), await _reader(self.stderr_read)


async def _reader(descriptor: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_CHUNK, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    await loop.connect_read_pipe(lambda: protocol, os.fdopen(descriptor, "rb", buffering=0))
    return reader


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None if no process has it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime


def process_key(pid: int | None = None) -> str:
    """``<pid>.<start>``: names this process (or ``pid``'s) and no later one given its pid.
    What a process leaves on the host (cgroups, containers, directories) carries it."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{process_start(pid) or 0}"


def owner_gone(owner: str) -> bool:
    """Whether the process a leftover's ``owner`` key names is gone (see remove_leftovers):
    no process has its pid, or the one that has it now started at another time."""
    pid, _, start = owner.partition(".")
    if not pid.isdigit():
        return False
    current = process_start(int(pid))
    if current is None:
        return True
    return start.isdigit() and int(start) != current  # a bare pid: alive while the pid is


async def _pump(reader: asyncio.StreamReader, collector: LineCollector) -> None:
    while chunk := await reader.read(READ_CHUNK):
        collector.feed(chunk)
    collector.finish()
