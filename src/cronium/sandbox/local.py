"""``local-insecure``: scripts as plain subprocesses of the worker. No isolation at all.

For development on a machine where no sandbox backend works. It keeps the contract that does not
need isolation (script as a file, stdin closed, a clean environment, streamed and capped output,
timeout and cancellation for the whole process group) and nothing else: no user change, no
limits, no read-only root, full network. Never use it for scripts you do not trust.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from cronium.domain.event import Language
from cronium.errors import SandboxError
from cronium.images import helpers_source
from cronium.sandbox.process import OutputPump, supervise
from cronium.sandbox.spec import (
    NODE_MODULES,
    OutputSink,
    SandboxBackend,
    SandboxResult,
    SandboxSpec,
)

INTERPRETERS = {Language.BASH: "bash", Language.PYTHON: "python3", Language.NODE: "node"}
LOCAL_SECRETS = ".cronium-secrets"
USAGE_FILE = ".cronium-usage"

# The script's parent, which learns what the script's processes used (os.wait4, so the peak
# memory and CPU of its own process tree only, not of the worker's other runs) and writes it
# to a file: asyncio reaps the child it starts itself, and keeps the resource usage to itself.
# It outlives the SIGTERM of a timeout or a cancel to write it (not a SIGKILL), and ends as the
# script ended: with its exit code, or killed by its signal.
USAGE_LAUNCHER = """
import os, signal, sys
child = os.fork()
if child == 0:
    os.execv(sys.argv[2], sys.argv[2:])
for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, signal.SIG_IGN)
_, status, usage = os.wait4(child, 0)
with open(sys.argv[1], "w") as file:
    file.write(f"{usage.ru_maxrss * 1024} {usage.ru_utime + usage.ru_stime}")
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def local_environment(spec: SandboxSpec, workspace: str) -> dict[str, str]:
    """The sandbox environment, with the host's paths of the helpers and the runtime socket."""
    env = {
        **spec.environment(str(helpers_source())),
        "HOME": workspace,
        "TMPDIR": workspace,
    }
    if spec.runtime_socket is not None:
        env["CRONIUM_RUNTIME_API"] = f"unix://{spec.runtime_socket}"
    if spec.token is not None:
        env["CRONIUM_EXECUTION_TOKEN_FILE"] = str(Path(workspace) / ".cronium-token")
    if spec.secret_files:
        env["CRONIUM_SECRETS_DIR"] = str(Path(workspace) / LOCAL_SECRETS)
    return env


def write_secrets(spec: SandboxSpec, workspace: str) -> None:
    """The event's file-mapped secrets, in the run's directory (no /run/secrets here)."""
    if not spec.secret_files:
        return
    directory = Path(workspace) / LOCAL_SECRETS
    directory.mkdir(mode=0o700)
    for key, value in spec.secret_files.items():
        descriptor = os.open(directory / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value)


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
            script = Path(workspace) / spec.script_name
            script.write_text(spec.script, encoding="utf-8")
            # ES modules do not read NODE_PATH: they find `cronium` in node_modules beside them
            (Path(workspace) / Path(NODE_MODULES).name).symlink_to(helpers_source() / "node")
            if spec.token is not None:
                token = os.open(Path(workspace) / ".cronium-token", os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(token, "w") as file:
                    file.write(spec.token)
            write_secrets(spec, workspace)
            usage = Path(workspace) / USAGE_FILE
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-c",
                USAGE_LAUNCHER,
                str(usage),
                interpreter,
                str(script),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=workspace,
                env=local_environment(spec, workspace),
                start_new_session=True,
            )
            setup_done = time.monotonic()

            def signal_group(signum: signal.Signals) -> None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signum)

            pump = OutputPump.of(process, spec, on_output)
            outcome = await supervise(process, pump, spec, cancel, signal_group)
            run_done = time.monotonic()
            peak_memory, cpu_seconds = usage_of(usage)
        code = outcome.returncode
        return SandboxResult(
            exit_code=code if code >= 0 else None,
            signal=-code if code < 0 else None,
            timed_out=outcome.ending == "timeout",
            cancelled=outcome.ending == "cancel",
            stdout_truncated=outcome.stdout_truncated,
            stderr_truncated=outcome.stderr_truncated,
            setup_seconds=setup_done - started,
            run_seconds=run_done - setup_done,
            cleanup_seconds=time.monotonic() - run_done,
            peak_memory_bytes=peak_memory,
            cpu_seconds=cpu_seconds,
        )


def usage_of(path: Path) -> tuple[int | None, float | None]:
    """The peak memory and CPU seconds the launcher wrote; None for both if it wrote none (it
    was killed)."""
    try:
        peak, cpu = path.read_text().split()
        return int(peak), float(cpu)
    except (OSError, ValueError):
        return None, None
