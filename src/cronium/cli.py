"""The ``cronium`` command. Thin: parse, call the service or the API, format the answer."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cronium import __version__
from cronium.client import DEFAULT_URL, ApiClient, ClientError
from cronium.domain import event as ev
from cronium.domain import settings as declared
from cronium.domain.event import EventSettings, Language, Network, ResourceLimits
from cronium.errors import CroniumError, SandboxError, SandboxUnavailableError
from cronium.sandbox import create_backend
from cronium.sandbox.spec import OutputLine, SandboxResult, SandboxSpec
from cronium.settings import describe_settings, load_settings

app = typer.Typer(
    help=(
        "Cronium: run Bash, Python and Node.js scripts in sandboxes (and HTTP requests), on "
        "demand, on schedules and in workflows."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
users_app = typer.Typer(help="Users (works on the database directly).", no_args_is_help=True)
events_app = typer.Typer(
    help="Events (scripts, HTTP requests, workflows) on a server.", no_args_is_help=True
)
executions_app = typer.Typer(help="Executions on a server.", no_args_is_help=True)
tokens_app = typer.Typer(help="Your API tokens on a server.", no_args_is_help=True)
workflows_app = typer.Typer(help="Workflows (DAGs of events) on a server.", no_args_is_help=True)
images_app = typer.Typer(help="The docker backend's runner images.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(events_app, name="events")
app.add_typer(executions_app, name="executions")
app.add_typer(tokens_app, name="tokens")
app.add_typer(workflows_app, name="workflows")
app.add_typer(images_app, name="images")

out = Console()
err = Console(stderr=True)

TERMINAL = {"succeeded", "failed", "timed_out", "cancelled"}
EXIT_NOT_SUCCEEDED = 1


def _settings_epilog() -> str:
    lines = ["[b]Settings[/b] (environment variables):\n"]
    for variable, default, description in describe_settings():
        shown = f" [dim](default: {default})[/dim]" if default else ""
        lines.append(f"[cyan]{variable}[/cyan]{shown}: {description}\n")
    return "\n".join(lines)


# Libraries whose debug lines carry the data they handle (aiosqlite logs each call with its
# arguments, SQLAlchemy each statement): never below warning, whatever the level.
QUIET_LOGGERS = ("aiosqlite", "sqlalchemy", "asyncpg", "httpcore", "httpx")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


# server side


@app.command(epilog=_settings_epilog())
def server(
    host: Annotated[str | None, typer.Option(help="Listen address [CRONIUM_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [CRONIUM_PORT].")] = None,
) -> None:
    """Run the API and a worker in one process (SQLite and the embedded sandbox by default)."""
    from cronium.server import serve

    settings = load_settings(host=host, port=port)
    _configure_logging(settings.log_level)
    asyncio.run(serve(settings, say=lambda text: print(text, flush=True)))


@app.command(epilog=_settings_epilog())
def api(
    host: Annotated[str | None, typer.Option(help="Listen address [CRONIUM_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [CRONIUM_PORT].")] = None,
) -> None:
    """Run the REST API alone (with PostgreSQL, beside `cronium worker` and `cronium scheduler`)."""
    from cronium.server import serve

    settings = load_settings(host=host, port=port)
    _configure_logging(settings.log_level)
    asyncio.run(serve(settings, say=lambda text: print(text, flush=True), with_worker=False))


@app.command(epilog=_settings_epilog())
def worker() -> None:
    """Run a worker alone: it claims queued executions and runs them in sandboxes.

    SIGTERM or Ctrl-C stops taking work and lets running executions finish for
    CRONIUM_WORKER_SHUTDOWN_GRACE seconds, then cancels the rest; a second Ctrl-C cancels at once.
    """
    from cronium.server import run_worker

    settings = load_settings()
    _configure_logging(settings.log_level)
    asyncio.run(run_worker(settings))


@app.command(epilog=_settings_epilog())
def scheduler() -> None:
    """Run the scheduler alone: it fires schedules and requeues what lost workers left."""
    from cronium.server import run_scheduler

    settings = load_settings()
    _configure_logging(settings.log_level)
    asyncio.run(run_scheduler(settings))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from cronium.storage.database import create_engine, migrate

    async def upgrade() -> None:
        engine = create_engine(load_settings().database_url_value)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    out.print("The database is up to date.")


@users_app.command("create-admin")
def create_admin(name: Annotated[str, typer.Argument(help="The new user's name.")]) -> None:
    """Create an administrator and print its first API token (shown once)."""
    from cronium.service import Service
    from cronium.storage import Store
    from cronium.storage.database import create_engine, migrate

    async def create() -> str:
        engine = create_engine(load_settings().database_url_value)
        try:
            await migrate(engine)
            _, issued = await Service(Store(engine)).create_admin(name)
            return issued.secret
        finally:
            await engine.dispose()

    secret = asyncio.run(create())
    err.print(f"Created the administrator {name!r}. Its API token, shown this once:")
    print(secret)


# client side

UrlOption = Annotated[
    str, typer.Option("--url", envvar="CRONIUM_URL", help="Server address.", show_default=True)
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="CRONIUM_TOKEN", help="API token.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer.")]
CronOption = Annotated[
    str | None, typer.Option(help="Cron expression: 5 fields, or 6 with seconds first.")
]
TzOption = Annotated[str, typer.Option("--tz", help="IANA time zone of the cron expression.")]
EveryOption = Annotated[float | None, typer.Option(help="Interval in seconds, from now.")]
AtOption = Annotated[str | None, typer.Option(help="One-off run at this ISO time (with zone).")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="NAME=VALUE",
        help="Any event setting (e.g. description=..., tags=a,b, max_attempts=3), repeatable. "
        "VALUE is read as JSON when it is JSON, else as text; a list takes a,b,c.",
    ),
]


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _print_record(record: dict[str, Any], fields: list[str]) -> None:
    for name in fields:
        value = record.get(name)
        if value not in (None, {}, [], ""):
            out.print(f"[b]{name}[/b]: {value}", highlight=False)


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(table)


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ClientError(f"--env {pair!r}: write it as NAME=VALUE")
        env[name] = value
    return env


def _parse_settings(pairs: list[str] | None) -> dict[str, Any]:
    """``--set NAME=VALUE`` options as request fields, checked against the event settings."""
    known = declared.by_name(EventSettings)
    values: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep:
            raise ClientError(f"--set {pair!r}: write it as NAME=VALUE")
        if name not in known:
            raise ClientError(
                f"--set {name}: events have no such setting; they have: " + ", ".join(known)
            )
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if typing.get_origin(known[name].annotation) is tuple and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        values[name] = value
    return values


def _parse_json(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClientError(f"{option} is not valid JSON: {exc}") from exc


@events_app.command("create")
def events_create(
    file: Annotated[Path, typer.Argument(help="The script file.", exists=True, dir_okay=False)],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: Annotated[str | None, typer.Option(help="Event name (default: file name).")] = None,
    lang: Annotated[Language | None, typer.Option(help="Default: from the extension.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Timeout in seconds.")] = None,
    cpus: Annotated[float | None, typer.Option(help="CPU cores.")] = None,
    memory: Annotated[int | None, typer.Option(help="Memory in MiB.")] = None,
    pids: Annotated[int | None, typer.Option(help="Most processes.")] = None,
    env: Annotated[list[str] | None, typer.Option(help="NAME=VALUE, repeatable.")] = None,
    cron: CronOption = None,
    tz: TzOption = "UTC",
    every: EveryOption = None,
    at: AtOption = None,
    missed_runs: Annotated[
        str | None, typer.Option(help="skip, run_once or run_all (after downtime).")
    ] = None,
    concurrency: Annotated[str | None, typer.Option(help="allow, forbid or replace.")] = None,
    max_executions: Annotated[int | None, typer.Option(help="Then the event pauses.")] = None,
    settings: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a script event from a file, on a schedule if one is given."""
    language = lang or Language.from_filename(file.name)
    if language is None:
        raise ClientError(f"cannot tell the language of {file.name}: pass --lang bash|python|node")
    body = {
        "name": name or file.stem,
        "language": language.value,
        "script": file.read_text(encoding="utf-8"),
        "env": _parse_env(env or []),
        "timeout_seconds": timeout,
        "cpus": cpus,
        "memory_mb": memory,
        "pids": pids,
        "schedule": _schedule(cron, tz, every, at),
        "missed_runs": missed_runs,
        "concurrency": concurrency,
        "max_executions": max_executions,
    }
    body = {k: v for k, v in body.items() if v is not None} | _parse_settings(settings)
    event = ApiClient(url, token).post("/events", body)
    if as_json:
        _print_json(event)
    else:
        out.print(f"Created event {event['id']} ({event['name']}).")


@events_app.command("create-http")
def events_create_http(
    name: Annotated[str, typer.Argument(help="Event name.")],
    target: Annotated[str, typer.Argument(metavar="URL", help="The http:// or https:// URL.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    method: Annotated[str, typer.Option(help="GET, POST, PUT, PATCH, DELETE...")] = "GET",
    header: Annotated[list[str] | None, typer.Option(help="'Name: value', repeatable.")] = None,
    body: Annotated[str | None, typer.Option(help="Sent as it is.")] = None,
    json_body: Annotated[str | None, typer.Option(help="A JSON value, sent as JSON.")] = None,
    fail_on_status: Annotated[
        bool, typer.Option(help="Whether a 4xx or 5xx answer fails the run.")
    ] = True,
    timeout: Annotated[float | None, typer.Option(help="Timeout in seconds.")] = None,
    cron: CronOption = None,
    tz: TzOption = "UTC",
    every: EveryOption = None,
    at: AtOption = None,
    settings: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an HTTP-request event: the response becomes each run's output."""
    if body is not None and json_body is not None:
        raise ClientError("give --body or --json-body, not both")
    headers = {}
    for line in header or []:
        key, sep, value = line.partition(":")
        if not sep:
            raise ClientError(f"--header {line!r}: write it as 'Name: value'")
        headers[key.strip()] = value.strip()
    request = {
        "method": method,
        "url": target,
        "headers": headers,
        "body": body if body is not None else _parse_json(json_body, "--json-body"),
        "fail_on_status": fail_on_status,
    }
    fields = {
        "name": name,
        "http": request,
        "timeout_seconds": timeout,
        "schedule": _schedule(cron, tz, every, at),
    }
    fields = {k: v for k, v in fields.items() if v is not None} | _parse_settings(settings)
    event = ApiClient(url, token).post("/events", fields)
    if as_json:
        _print_json(event)
    else:
        out.print(f"Created event {event['id']} ({event['name']}).")


@events_app.command("versions")
def events_versions(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List an event's versions, newest first, with what each one changed."""
    versions = ApiClient(url, token).get(f"/events/{event_id}/versions")
    if as_json:
        _print_json(versions)
        return
    rows = []
    for index, version in enumerate(versions):
        earlier = versions[index + 1]["settings"] if index + 1 < len(versions) else None
        changed = (
            "created"
            if earlier is None
            else ", ".join(k for k, v in version["settings"].items() if earlier.get(k) != v)
        )
        restored = version["restored_from"]
        note = f"restored {restored}: {changed}" if restored else changed
        rows.append(
            {"version": version["version"], "created_at": version["created_at"], "changes": note}
        )
    _print_table(rows, ["version", "created_at", "changes"])


@events_app.command("restore")
def events_restore(
    event_id: int,
    version: Annotated[int, typer.Argument(help="The version to bring back.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Bring back the script and settings of an earlier version (as a new version)."""
    event = ApiClient(url, token).post(f"/events/{event_id}/versions/{version}/restore")
    out.print(
        f"Restored version {version} of event {event_id}: it is now version {event['version']}."
    )


@events_app.command("update")
def events_update(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    script: Annotated[
        Path | None, typer.Option(help="A new script, from this file.", exists=True, dir_okay=False)
    ] = None,
    settings: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an event's script or settings (a new version); ``--set NAME=null`` removes a
    schedule, a pool or a limit on runs."""
    changes = _parse_settings(settings)
    if script is not None:
        changes["script"] = script.read_text(encoding="utf-8")
    if not changes:
        raise ClientError("nothing to change: give --script or --set NAME=VALUE")
    event = ApiClient(url, token).patch(f"/events/{event_id}", changes)
    if as_json:
        _print_json(event)
    else:
        out.print(f"Updated event {event_id}: it is now version {event['version']}.")


@events_app.command("list")
def events_list(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Only events with this tag (repeatable: all).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the events you can see."""
    events = ApiClient(url, token).get("/events", **({"tag": tag} if tag else {}))
    if as_json:
        _print_json(events)
        return
    for event in events:
        event["tags"] = ", ".join(event["tags"])
    columns = ["id", "name", "kind", "language", "status", "tags", "version", "updated_at"]
    _print_table(events, columns)


@events_app.command("show")
def events_show(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one event, with its script."""
    event = ApiClient(url, token).get(f"/events/{event_id}")
    if as_json:
        _print_json(event)
        return
    fields = ["id", "name", "description", "tags", "kind", "status", "paused_reason", "version"]
    fields += ["language", "http"]
    fields += ["schedule", "env"]
    limits = ["timeout_seconds", "cpus", "memory_mb", "pids"]
    _print_record(event, [*fields, *limits, "created_at", "updated_at"])
    if event["kind"] == "script":
        out.print("[b]script[/b]:")
        print(event["script"])


@events_app.command("next")
def events_next(
    event_id: Annotated[int | None, typer.Argument(help="A saved event; or give --cron...")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    cron: CronOption = None,
    tz: TzOption = "UTC",
    every: EveryOption = None,
    at: AtOption = None,
    count: Annotated[int, typer.Option(help="How many.")] = 5,
) -> None:
    """Show the next fire times of an event, or of a schedule before saving it."""
    client = ApiClient(url, token)
    if event_id is not None:
        fires = client.get(f"/events/{event_id}/next", count=count)["fires"]
    else:
        schedule = _schedule(cron, tz, every, at)
        if schedule is None:
            raise ClientError("give an event id, or a schedule: --cron, --every or --at")
        fires = client.post("/schedules/next", {"schedule": schedule, "count": count})["fires"]
    for fire in fires:
        print(fire)


@events_app.command("pause")
def events_pause(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Stop firing an event on its schedule."""
    ApiClient(url, token).post(f"/events/{event_id}/pause")
    out.print(f"Paused event {event_id}.")


@events_app.command("resume")
def events_resume(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Fire an event on its schedule again, from now on."""
    ApiClient(url, token).post(f"/events/{event_id}/resume")
    out.print(f"Resumed event {event_id}.")


def _schedule(
    cron: str | None, tz: str, every: float | None, at: str | None
) -> dict[str, Any] | None:
    given = [option for option in (cron, every, at) if option is not None]
    if len(given) > 1:
        raise ClientError("give one schedule: --cron, --every or --at")
    if cron is not None:
        return {"kind": "cron", "cron": cron, "timezone": tz}
    if every is not None:
        anchor = datetime.now(UTC).replace(microsecond=0).isoformat()
        return {"kind": "interval", "every_seconds": every, "anchor": anchor}
    if at is not None:
        return {"kind": "once", "at": at}
    return None


@events_app.command("delete")
def events_delete(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Delete an event with its executions."""
    ApiClient(url, token).delete(f"/events/{event_id}")
    out.print(f"Deleted event {event_id}.")


@events_app.command("run")
def events_run(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    input: Annotated[str | None, typer.Option("--input", help="JSON handed to the script.")] = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the end, print the log, exit with its code.")
    ] = False,
) -> None:
    """Queue a run of an event now."""
    client = ApiClient(url, token)
    payload = _parse_json(input, "--input")
    accepted = client.post(f"/events/{event_id}/run", {"input": payload})
    execution_id = accepted["execution_id"]
    if not wait:
        out.print(f"Queued execution {execution_id}.")
        return
    execution = _wait_for(client, execution_id)
    _print_logs(client.get(f"/executions/{execution_id}/logs"))
    reason = f": {execution['error']}" if execution["error"] else ""
    err.print(f"Execution {execution_id} {execution['status']}{reason}.", highlight=False)
    code = execution["exit_code"]
    if code is None:
        code = 0 if execution["status"] == "succeeded" else EXIT_NOT_SUCCEEDED
    raise typer.Exit(code)


def _wait_for(client: ApiClient, execution_id: int) -> dict[str, Any]:
    delay = 0.05
    while True:
        execution: dict[str, Any] = client.get(f"/executions/{execution_id}")
        if execution["status"] in TERMINAL:
            return execution
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _print_logs(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        stream = sys.stdout if line["stream"] == "stdout" else sys.stderr
        print(line["line"], file=stream)


@workflows_app.command("list")
def workflows_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List your workflows."""
    workflows = ApiClient(url, token).get("/workflows")
    if as_json:
        _print_json(workflows)
        return
    for workflow in workflows:
        workflow["nodes"] = len(workflow["workflow"]["nodes"])
    _print_table(workflows, ["id", "name", "status", "nodes", "version", "updated_at"])


@workflows_app.command("show")
def workflows_show(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a workflow: its nodes and edges."""
    workflow = ApiClient(url, token).get(f"/workflows/{workflow_id}")
    if as_json:
        _print_json(workflow)
        return
    _print_record(workflow, ["id", "name", "status", "version", "schedule"])
    graph = workflow["workflow"]
    _print_table(graph["nodes"], ["name", "event_id"])
    if graph["edges"]:
        _print_table(graph["edges"], ["source", "target", "kind", "value"])


@workflows_app.command("import")
def workflows_import(
    file: Annotated[Path, typer.Argument(help="A workflow document (YAML).", exists=True)],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Create or update a workflow and its events from a YAML document."""
    text = file.read_text(encoding="utf-8")
    workflow = ApiClient(url, token).post_text("/workflows/import", text, "application/yaml")
    out.print(
        f"Imported workflow {workflow['id']} ({workflow['name']}), version {workflow['version']}."
    )


@workflows_app.command("export")
def workflows_export(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
) -> None:
    """Write a workflow and its events as one YAML document."""
    document = ApiClient(url, token).get(f"/workflows/{workflow_id}/export")
    if output is None:
        print(document, end="")
    else:
        output.write_text(document, encoding="utf-8")
        err.print(f"Wrote workflow {workflow_id} to {output}.")


@workflows_app.command("run")
def workflows_run(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    input: Annotated[str | None, typer.Option("--input", help="JSON for the start nodes.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the end and show each node.")] = False,
) -> None:
    """Start a run of a workflow now."""
    client = ApiClient(url, token)
    accepted = client.post(
        f"/workflows/{workflow_id}/run", {"input": _parse_json(input, "--input")}
    )
    run_id = accepted["execution_id"]
    if not wait:
        out.print(f"Started run {run_id}.")
        return
    run = _wait_for(client, run_id)
    _print_run(client.get(f"/workflows/runs/{run_id}"))
    raise typer.Exit(0 if run["status"] == "succeeded" else EXIT_NOT_SUCCEEDED)


@workflows_app.command("runs")
def workflows_runs(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """A workflow's runs, newest first."""
    runs = ApiClient(url, token).get(f"/workflows/{workflow_id}/runs", limit=limit)
    if as_json:
        _print_json(runs)
    else:
        _print_table(runs, ["id", "status", "trigger", "queued_at", "finished_at", "error"])


@workflows_app.command("run-show")
def workflows_run_show(
    run_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its status, then each node's status, timings and execution."""
    detail = ApiClient(url, token).get(f"/workflows/runs/{run_id}")
    if as_json:
        _print_json(detail)
    else:
        _print_run(detail)


@workflows_app.command("cancel")
def workflows_cancel(run_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Cancel a run: nodes not started never start, running ones are stopped."""
    ApiClient(url, token).post(f"/workflows/runs/{run_id}/cancel")
    out.print(f"Cancelled run {run_id}.")


def _print_run(detail: dict[str, Any]) -> None:
    run = detail["run"]
    reason = f": {run['error']}" if run["error"] else ""
    out.print(f"Run {run['id']} {run['status']}{reason}.", highlight=False)
    rows = []
    for node in detail["nodes"]:
        took = ""
        if node["started_at"] and node["finished_at"]:
            seconds = (
                datetime.fromisoformat(node["finished_at"])
                - datetime.fromisoformat(node["started_at"])
            ).total_seconds()
            took = f"{seconds:.2f} s"
        rows.append({**node, "took": took, "output": json.dumps(node["output"])})
    _print_table(rows, ["node", "status", "execution_id", "took", "output", "error"])


@executions_app.command("show")
def executions_show(
    execution_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one execution: status, exit code, timings, then its output."""
    client = ApiClient(url, token)
    execution = client.get(f"/executions/{execution_id}")
    logs = client.get(f"/executions/{execution_id}/logs")
    if as_json:
        _print_json({**execution, "logs": logs})
        return
    _print_record(execution, list(execution))
    _print_logs(logs)


@executions_app.command("cancel")
def executions_cancel(
    execution_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None
) -> None:
    """Cancel an execution: at once if queued; a running one is stopped by its worker."""
    execution = ApiClient(url, token).post(f"/executions/{execution_id}/cancel")
    state = "cancelled" if execution["status"] == "cancelled" else "being cancelled"
    out.print(f"Execution {execution_id} is {state}.")


@app.command("workers")
def workers_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List workers: host, backend, tags, capacity, running count, last heartbeat, state."""
    rows = ApiClient(url, token).get("/workers")
    if as_json:
        _print_json(rows)
        return
    columns = ["id", "backend", "tags", "capacity", "running", "last_heartbeat_at", "state"]
    _print_table(rows, columns)


@executions_app.command("list")
def executions_list(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    event: Annotated[int | None, typer.Option(help="Only this event's executions.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List recent executions."""
    rows = ApiClient(url, token).get("/executions", event_id=event, limit=limit)
    if as_json:
        _print_json(rows)
    else:
        columns = ["id", "event_id", "status", "exit_code", "queued_at", "run_seconds"]
        _print_table(rows, columns)


@tokens_app.command("create")
def tokens_create(
    name: str,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    expires_in_days: Annotated[int | None, typer.Option(help="Default: never.")] = None,
) -> None:
    """Create an API token for yourself and print it (shown once)."""
    issued = ApiClient(url, token).post(
        "/tokens", {"name": name, "expires_in_days": expires_in_days}
    )
    err.print(f"Created token {issued['id']} ({issued['name']}); shown this once:")
    print(issued["token"])


@tokens_app.command("list")
def tokens_list(url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """List your API tokens (never their secrets)."""
    rows = ApiClient(url, token).get("/tokens")
    _print_table(rows, ["id", "name", "prefix", "expires_at", "revoked_at", "last_used_at"])


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Revoke one of your API tokens."""
    ApiClient(url, token).delete(f"/tokens/{token_id}")
    out.print(f"Revoked token {token_id}.")


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
        input=_parse_json(input, "--input"),
        env=_parse_env(env or []),
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


@app.command()
def doctor() -> None:
    """Say which sandbox backends work on this machine and, for each that does not, why; and
    whether the server's data, state directory and sandbox uids are private."""
    from cronium.doctor import examine_all, examine_privacy

    settings = load_settings()
    table = Table("backend", "works", "details")
    findings = examine_all(settings)
    for finding in findings:
        mark = "[green]yes[/green]" if finding.works else "[red]no[/red]"
        table.add_row(finding.backend, mark, finding.detail)
    out.print(table)
    checks = Table("check", "ok", "details")
    privacy = examine_privacy(settings)
    for finding in privacy:
        mark = "[green]yes[/green]" if finding.works else "[red]no[/red]"
        checks.add_row(finding.backend, mark, finding.detail)
    out.print(checks)
    chosen = next(f for f in findings if f.backend == settings.sandbox)
    verdict = "it works" if chosen.works else "it does not work here"
    out.print(f"The server uses {chosen.backend} (CRONIUM_SANDBOX): {verdict}.")
    private = all(finding.works for finding in privacy)
    if not private:
        out.print("Some of what the server keeps is not private: see the checks above.")
    raise typer.Exit(0 if chosen.works and private else 1)


@images_app.command("build")
def images_build(
    base: Annotated[
        str | None,
        typer.Option(
            help="Build from this image (e.g. debian:bookworm-slim; needs a registry) "
            "instead of a Debian made here with debootstrap."
        ),
    ] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Debian mirror for debootstrap (default: apt's).")
    ] = None,
    fresh_rootfs: Annotated[
        bool, typer.Option(help="Make the debootstrapped Debian again even if it exists.")
    ] = False,
) -> None:
    """Build the docker backend's runner images (bash, python, node)."""
    from cronium.images import ROOTFS_IMAGE, build_images, build_rootfs, image_exists

    def say(text: str) -> None:
        err.print(text, highlight=False)

    try:
        if base is None and (fresh_rootfs or not image_exists(ROOTFS_IMAGE)):
            build_rootfs(say, mirror)
        built = build_images(say, base=base or ROOTFS_IMAGE)
    except subprocess.CalledProcessError as exc:
        output = (exc.stderr or b"").decode(errors="replace").strip()[-2000:]
        raise ClientError(f"{' '.join(map(str, exc.cmd[:3]))}... failed: {output}") from exc
    for tag in built:
        print(tag)


@app.command()
def version() -> None:
    """Print Cronium's version."""
    print(__version__)


def main() -> None:
    """Entry point of the ``cronium`` console script."""
    try:
        app()
    except CroniumError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        sys.exit(2)
