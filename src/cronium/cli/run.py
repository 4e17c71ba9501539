"""``cronium run``: one sandboxed run, here."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cronium.cli.common import (
    app,
    err,
    parse_env,
    parse_json,
)
from cronium.client import ClientError
from cronium.domain import event as ev
from cronium.domain.event import Language, Network, ResourceLimits
from cronium.errors import SandboxError, SandboxUnavailableError
from cronium.sandbox import create_backend
from cronium.sandbox.spec import OutputLine, SandboxResult, SandboxSpec
from cronium.settings import load_settings

# one sandboxed run, here

EXIT_TIMED_OUT, EXIT_SANDBOX_FAILED, EXIT_CANCELLED, EXIT_OOM = 124, 125, 130, 137


def exit_status(result: SandboxResult) -> int:
    """The exit status of `cronium run`: the script's own, or one that says how it ended."""
    if result.cancelled:
        return EXIT_CANCELLED
    if result.timed_out:
        return EXIT_TIMED_OUT
    if result.oom_killed:
        return EXIT_OOM
    if result.exit_code is not None:
        return result.exit_code
    return 128 + (result.signal or 0)


def _print_line(line: OutputLine) -> None:
    print(line.text, file=sys.stdout if line.stream == "stdout" else sys.stderr, flush=True)


async def _run_here(backend_name: str, spec: SandboxSpec) -> SandboxResult:
    settings = load_settings()
    backend = create_backend(backend_name, state_dir=settings.state_dir, uids=settings.sandbox_uids)
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, cancel.set)
    return await backend.run(spec, _print_line, cancel)


@app.command(
    epilog="Exit status: the script's own; 124 when it timed out, 137 when it ran out of "
    "memory, 130 when interrupted (Ctrl-C), 128+N when killed by signal N, 125 when the "
    "sandbox itself failed.",
)
def run(
    file: Annotated[Path, typer.Argument(help="The script file.", exists=True, dir_okay=False)],
    lang: Annotated[Language | None, typer.Option(help="Default: from the extension.")] = None,
    input: Annotated[str | None, typer.Option("--input", help="JSON handed to the script.")] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds.", min=ev.TIMEOUT_MIN, max=ev.TIMEOUT_MAX)
    ] = ev.TIMEOUT_DEFAULT,
    memory: Annotated[
        int, typer.Option(help="MiB.", min=ev.MEMORY_MB_MIN, max=ev.MEMORY_MB_MAX)
    ] = ev.MEMORY_MB_DEFAULT,
    cpus: Annotated[
        float, typer.Option(help="Cores.", min=ev.CPUS_MIN, max=ev.CPUS_MAX)
    ] = ev.CPUS_DEFAULT,
    pids: Annotated[
        int, typer.Option(help="Processes.", min=ev.PIDS_MIN, max=ev.PIDS_MAX)
    ] = ev.PIDS_DEFAULT,
    network: Annotated[Network, typer.Option(help="none, or egress for outbound access.")] = "none",
    backend: Annotated[str, typer.Option(help="native or docker.")] = "native",
    env: Annotated[list[str] | None, typer.Option(help="NAME=VALUE, repeatable.")] = None,
) -> None:
    """Run one script in a sandbox right here, with live output; no server needed."""
    language = lang or Language.from_filename(file.name)
    if language is None:
        raise ClientError(f"cannot tell the language of {file.name}: pass --lang bash|python|node")
    spec = SandboxSpec(
        execution_id=int(time.time() * 1000) % 1_000_000_000,
        language=language,
        script=file.read_text(encoding="utf-8"),
        input=parse_json(input, "--input"),
        env=parse_env(env or []),
        limits=ResourceLimits(timeout_seconds=timeout, cpus=cpus, memory_mb=memory, pids=pids),
        network=network,
    )
    try:
        result = asyncio.run(_run_here(backend, spec))
    except SandboxUnavailableError:
        raise
    except SandboxError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(EXIT_SANDBOX_FAILED) from exc
    raise typer.Exit(exit_status(result))
