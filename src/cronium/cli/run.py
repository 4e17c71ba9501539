"""``cronium run``: one sandboxed run, here, with the runtime API a server gives it.

The engine is :mod:`cronium.localrun`; this module turns the command line (and, with
``--event``, an event fetched from a server) into what to run, and prints how it ended.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cronium.cli.common import (
    TokenOption,
    UrlOption,
    app,
    err,
    parse_env,
    parse_json,
)
from cronium.cli.setting_options import setting_options
from cronium.client import DEFAULT_URL, ApiClient, ClientError
from cronium.domain import settings as declared
from cronium.domain.event import EventSettings, Language, Network, ResourceLimits
from cronium.errors import SandboxError, SandboxUnavailableError
from cronium.sandbox import create_backend
from cronium.sandbox.spec import OutputLine, SandboxResult
from cronium.settings import load_settings

if TYPE_CHECKING:  # the engine is imported when a run needs it: other commands start faster
    from cronium.localrun import Ran, Trial

EXIT_TIMED_OUT, EXIT_SANDBOX_FAILED, EXIT_CANCELLED, EXIT_OOM = 124, 125, 130, 137
MIB = 1024 * 1024
T = TypeVar("T")


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


def ending_of(result: SandboxResult, limits: ResourceLimits) -> str:
    """How the run ended, in plain words."""
    if result.cancelled:
        return "interrupted"
    if result.timed_out:
        return f"timed out after {limits.timeout_seconds:g} s"
    if result.oom_killed:
        return f"killed: out of memory (limit {limits.memory_mb} MiB)"
    if result.exit_code is not None:
        return f"exited with code {result.exit_code}{_as_if_signalled(result.exit_code)}"
    if result.signal is None:
        return "ended without an exit code"
    return f"killed by signal {result.signal} ({_signal_name(result.signal)})"


def _as_if_signalled(exit_code: int) -> str:
    """For a shell-style exit code 128+N (a process inside ended by a signal reports it so),
    which signal that would be."""
    number = exit_code - 128
    if number <= 0 or _signal_name(number) == "unknown":
        return ""
    return f", as when killed by signal {number} ({_signal_name(number)})"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def usage_of(result: SandboxResult) -> str:
    """What the run took: its time, peak memory and CPU time, where known."""
    parts = [f"{result.run_seconds:.2f} s"]
    if result.peak_memory_bytes is not None:
        parts.append(f"peak memory {result.peak_memory_bytes / MIB:.1f} MiB")
    if result.cpu_seconds is not None:
        parts.append(f"CPU {result.cpu_seconds:.2f} s")
    return ", ".join(parts)


def summary_of(ran: Ran, limits: ResourceLimits, variables_file: Path | None) -> list[str]:
    """The lines printed after the run: how it ended, then its output and condition as JSON
    (as the server would store them), then where its variables went."""
    lines = [
        f"-- end of the run: {ending_of(ran.result, limits)} ({usage_of(ran.result)})",
        f"output: {_json(ran.output)}",
        f"condition: {_json(ran.condition)}",
    ]
    if ran.result.stdout_truncated or ran.result.stderr_truncated:
        lines.append("(part of the output was dropped: it went over the output cap)")
    if variables_file is not None:
        lines.append(f"variables: {len(ran.variables)} saved in {variables_file}")
    return lines


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _print_line(line: OutputLine) -> None:
    print(line.text, file=sys.stdout if line.stream == "stdout" else sys.stderr, flush=True)


# what to run: the file, the server's event, and the options given


# what a run here may be given on the command line (the event's, or the defaults, otherwise)
LIMIT_SETTINGS = ("timeout_seconds", "cpus", "memory_mb", "pids", "network")


@dataclass(frozen=True, slots=True)
class Given:
    """The settings given on the command line; None: the event's, or the default."""

    lang: Language | None = None
    timeout: float | None = None
    memory: int | None = None
    cpus: float | None = None
    pids: int | None = None
    network: Network | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)


def event_settings(file: Path | None, event: dict[str, Any] | None, given: Given) -> EventSettings:
    """The settings of the run: the server's event's (if any), FILE's script in place of its
    own (if given), and the options given over both."""
    if event is not None:
        base: EventSettings = declared.from_json(EventSettings, event)
    else:
        assert file is not None, "a file or an event"
        base = EventSettings(name=file.stem or file.name)
    script = base.script if file is None else file.read_text(encoding="utf-8")
    language = given.lang or (Language.from_filename(file.name) if file else None) or base.language
    if language is None:
        assert file is not None, "a server's script event has a language"
        raise ClientError(f"cannot tell the language of {file.name}: pass --lang bash|python|node")
    limits = ResourceLimits(
        timeout_seconds=_first(given.timeout, base.limits.timeout_seconds),
        cpus=_first(given.cpus, base.limits.cpus),
        memory_mb=_first(given.memory, base.limits.memory_mb),
        pids=_first(given.pids, base.limits.pids),
    )
    return dataclasses.replace(
        base,
        language=language,
        script=script,
        env={**base.env, **given.env},
        limits=limits,
        network=given.network or base.network,
        secrets={},  # a server's secrets stay on the server: a run here has none
    )


def _first(given: T | None, otherwise: T) -> T:
    return otherwise if given is None else given


def fetch_event(client: ApiClient, id_or_name: str) -> dict[str, Any]:
    """The server's script event with this id (digits) or name, as the REST API shows it."""
    if id_or_name.isdigit():
        event: dict[str, Any] = client.get(f"/events/{int(id_or_name)}")
    else:
        named = [found for found in client.get("/events") if found["name"] == id_or_name]
        if not named:
            raise ClientError(
                f"no event of yours on {client.url} is named {id_or_name!r}: "
                "`cronium events list` shows them"
            )
        if len(named) > 1:
            ids = ", ".join(str(found["id"]) for found in named)
            raise ClientError(f"several events are named {id_or_name!r} (ids {ids}): give its id")
        event = named[0]
    if event["kind"] != "script":
        raise ClientError(
            f"event {event['id']} ({event['name']}) is of kind {event['kind']}: "
            "cronium run runs script events only"
        )
    return event


# running it


async def _run(backend_name: str, trial: Trial, variables: dict[str, Any]) -> Ran:
    """Run ``trial`` in a sandbox of the backend named, stopping it on SIGINT or SIGTERM."""
    from cronium.localrun import run_here

    settings = load_settings()
    backend = create_backend(backend_name, state_dir=settings.state_dir, uids=settings.sandbox_uids)
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, cancel.set)
    try:
        return await run_here(
            trial, backend, settings, variables=variables, on_output=_print_line, cancel=cancel
        )
    finally:
        await asyncio.to_thread(backend.close)


@app.command(
    epilog="After the run, stderr says how it ended (its exit code, or the timeout, the out of "
    "memory kill or the signal that ended it), then its output and condition as JSON. "
    "Exit status: the script's own; 124 when it timed out, 137 when it ran out of "
    "memory, 130 when interrupted (Ctrl-C), 128+N when killed by signal N, 125 when the "
    "sandbox itself failed.",
)
@setting_options(only=LIMIT_SETTINGS)
def run(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="The script file (with --event: run it in place of the event's script).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    lang: Annotated[
        Language | None, typer.Option(help="Default: from the extension, or the event's.")
    ] = None,
    input: Annotated[
        str | None, typer.Option("--input", help="JSON handed to the script: cronium.input().")
    ] = None,
    variables: Annotated[
        Path | None,
        typer.Option(
            "--variables",
            metavar="FILE",
            dir_okay=False,
            help="A JSON object of variables the script reads and writes (get_variable, "
            "set_variable...): loaded before the run, written back after it (made if missing, "
            "mode 0600). Without it, the variables start empty and live for the run only.",
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            metavar="ID_OR_NAME",
            help="Run this event of a server (--url, --token) here, with its script and "
            "settings (the options given win); with FILE, FILE's script in place of the "
            "saved one, to try a change before saving it. Its variables are not the server's: "
            "they come from --variables, or start empty.",
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    backend: Annotated[str, typer.Option(help="native or docker.")] = "native",
    env: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE, repeatable (over the event's).")
    ] = None,
    settings: dict[str, Any] | None = None,
) -> None:
    """Run one script in a sandbox right here, with live output and the runtime API (input,
    output, variables, condition, context) as on a server; no server needed."""
    if file is None and event is None:
        raise ClientError("give the script FILE to run, or --event ID_OR_NAME to run a server's")
    from cronium.localrun import Trial, load_variables, save_variables

    chosen = settings or {}
    given = Given(
        lang,
        chosen.get("timeout_seconds"),
        chosen.get("memory_mb"),
        chosen.get("cpus"),
        chosen.get("pids"),
        chosen.get("network"),
        parse_env(env or []),
    )
    found = None if event is None else fetch_event(ApiClient(url, token), event)
    fields = event_settings(file, found, given)
    trial = Trial(
        event=fields,
        input=parse_json(input, "--input"),
        stands_for=None if found is None else int(found["id"]),
    )
    before = {} if variables is None else load_variables(variables)
    try:
        ran = asyncio.run(_run(backend, trial, before))
    except SandboxUnavailableError:
        raise
    except SandboxError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(EXIT_SANDBOX_FAILED) from exc
    if variables is not None:
        save_variables(variables, ran.variables)
    for line in summary_of(ran, fields.limits, variables):
        print(line, file=sys.stderr, flush=True)
    raise typer.Exit(exit_status(ran.result))
