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
import tempfile
import time
from pathlib import Path

from cronium.domain.event import Language
from cronium.errors import SandboxError
from cronium.images import helpers_source
from cronium.sandbox.process import OutputPump, supervise
from cronium.sandbox.spec import (
    SCRIPT_NAMES,
    OutputSink,
    SandboxBackend,
    SandboxResult,
    SandboxSpec,
)

INTERPRETERS = {Language.BASH: "bash", Language.PYTHON: "python3", Language.NODE: "node"}
LOCAL_SECRETS = ".cronium-secrets"


def local_environment(spec: SandboxSpec, workspace: str) -> dict[str, str]:
    """The sandbox environment, with the host's paths of the helpers and the runtime socket."""
    helpers = helpers_source()
    env = {
        **spec.environment(),
        "HOME": workspace,
        "TMPDIR": workspace,
        "PYTHONPATH": str(helpers / "python"),
        "NODE_PATH": str(helpers / "node"),
        "BASH_ENV": str(helpers / "bash" / "cronium.sh"),
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
            script = Path(workspace) / SCRIPT_NAMES[spec.language]
            script.write_text(spec.script, encoding="utf-8")
            if spec.token is not None:
                token = os.open(Path(workspace) / ".cronium-token", os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(token, "w") as file:
                    file.write(spec.token)
            write_secrets(spec, workspace)
            process = await asyncio.create_subprocess_exec(
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
        )
