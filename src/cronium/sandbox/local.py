"""``local-insecure``: scripts as plain subprocesses of the worker. No isolation at all.

For development on a machine where no sandbox backend works. It keeps the contract that does not
need isolation (script as a file, stdin closed, a clean environment, streamed and capped output,
timeout and cancellation for the whole process group) and nothing else: no user change, no
limits, no read-only root, full network. Never use it for scripts you do not trust.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from cronium.domain.event import Language
from cronium.errors import SandboxError
from cronium.sandbox.output import LineCollector
from cronium.sandbox.spec import OutputSink, SandboxBackend, SandboxResult, SandboxSpec

INTERPRETERS = {Language.BASH: "bash", Language.PYTHON: "python3", Language.NODE: "node"}
SCRIPT_NAMES = {
    Language.BASH: "script.sh",
    Language.PYTHON: "script.py",
    Language.NODE: "script.js",
}
READ_CHUNK = 64 * 1024


class LocalInsecureBackend(SandboxBackend):
    """Runs each script as a subprocess in its own session and temporary directory."""

    name = "local-insecure"

    def check(self) -> None:
        """Always usable: it needs nothing but the interpreters, checked per run."""

    async def run(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        started = time.monotonic()
        interpreter = shutil.which(INTERPRETERS[spec.language])
        if interpreter is None:
            raise SandboxError(
                f"{INTERPRETERS[spec.language]} is not installed on this worker: "
                f"install it to run {spec.language} scripts"
            )
        with tempfile.TemporaryDirectory(prefix=f"cronium-{spec.execution_id}-") as workspace:
            script = Path(workspace) / SCRIPT_NAMES[spec.language]
            script.write_text(spec.script, encoding="utf-8")
            env = {**spec.environment(), "HOME": workspace}
            process = await asyncio.create_subprocess_exec(
                interpreter,
                str(script),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=workspace,
                env=env,
                start_new_session=True,
            )
            setup_done = time.monotonic()
            result = await _supervise(process, spec, on_output, cancel)
            run_done = time.monotonic()
        return dataclasses.replace(
            result,
            setup_seconds=setup_done - started,
            run_seconds=run_done - setup_done,
            cleanup_seconds=time.monotonic() - run_done,
        )


async def _supervise(
    process: asyncio.subprocess.Process,
    spec: SandboxSpec,
    on_output: OutputSink,
    cancel: asyncio.Event | None,
) -> SandboxResult:
    assert process.stdout is not None
    assert process.stderr is not None
    stdout = LineCollector("stdout", on_output, spec.output_cap_bytes)
    stderr = LineCollector("stderr", on_output, spec.output_cap_bytes)
    readers = asyncio.gather(_pump(process.stdout, stdout), _pump(process.stderr, stderr))
    ending = await _wait_for_end(process, spec.limits.timeout_seconds, cancel)
    if ending is not None:
        await _terminate(process, spec.grace_seconds)
    # Whatever the script left running in its session goes too, so the pipes close.
    _signal_group(process.pid, signal.SIGKILL)
    await readers
    returncode = await process.wait()
    return SandboxResult(
        exit_code=returncode if returncode >= 0 else None,
        signal=-returncode if returncode < 0 else None,
        timed_out=ending == "timeout",
        cancelled=ending == "cancel",
        stdout_truncated=stdout.truncated,
        stderr_truncated=stderr.truncated,
    )


async def _wait_for_end(
    process: asyncio.subprocess.Process, limit: float, cancel: asyncio.Event | None
) -> str | None:
    """None if the process exited by itself, else "timeout" or "cancel"."""
    exited = asyncio.ensure_future(_exit_of(process.pid))
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
        return None
    exited.cancel()
    return "cancel" if cancel is not None and cancel.is_set() else "timeout"


async def _exit_of(pid: int) -> None:
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


async def _terminate(process: asyncio.subprocess.Process, grace: float) -> None:
    _signal_group(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=grace)
    except TimeoutError:
        _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


async def _pump(reader: asyncio.StreamReader, collector: LineCollector) -> None:
    while chunk := await reader.read(READ_CHUNK):
        collector.feed(chunk)
    collector.finish()
