"""``cronium events ...``: events on a server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from cronium.cli.common import (
    EXIT_NOT_SUCCEEDED,
    AtOption,
    CronOption,
    EveryOption,
    JsonOption,
    SetOption,
    TokenOption,
    TzOption,
    UrlOption,
    answer,
    err,
    events_app,
    out,
    parse_env,
    parse_json,
    parse_settings,
    print_json,
    print_logs,
    print_record,
    print_table,
    wait_for,
)
from cronium.cli.setting_options import setting_options
from cronium.cli.shown import moment, shown
from cronium.client import DEFAULT_URL, ApiClient, ClientError
from cronium.domain.event import Language

# set otherwise: by the file, --lang, --env, the schedule options, http, and their commands
NOT_OPTIONS = frozenset(
    {"kind", "language", "script", "http", "workflow", "env", "status", "schedule", "actions"}
)
NOT_HTTP_OPTIONS = NOT_OPTIONS | {"cpus", "memory_mb", "pids", "network"}


@events_app.command("create")
@setting_options(exclude=NOT_OPTIONS | {"name"})
def events_create(
    file: Annotated[Path, typer.Argument(help="The script file.", exists=True, dir_okay=False)],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: Annotated[str | None, typer.Option(help="Event name (default: file name).")] = None,
    lang: Annotated[Language | None, typer.Option(help="Default: from the extension.")] = None,
    env: Annotated[list[str] | None, typer.Option(help="NAME=VALUE, repeatable.")] = None,
    cron: CronOption = None,
    tz: TzOption = "UTC",
    every: EveryOption = None,
    at: AtOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Create a script event from a file, on a schedule if one is given; every setting has its
    option (see docs/api.md)."""
    language = lang or Language.from_filename(file.name)
    if language is None:
        raise ClientError(f"cannot tell the language of {file.name}: pass --lang bash|python|node")
    body = {
        "name": name or file.stem,
        "language": language.value,
        "script": file.read_text(encoding="utf-8"),
        "env": parse_env(env or []),
        "schedule": _schedule(cron, tz, every, at),
    }
    body = {k: v for k, v in body.items() if v is not None} | (settings or {})
    event = ApiClient(url, token).post("/events", body | parse_settings(set_))
    answer(event, as_json, f"Created event {event['id']} ({event['name']}).")


@events_app.command("create-http")
@setting_options(exclude=NOT_HTTP_OPTIONS | {"name"})
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
    cron: CronOption = None,
    tz: TzOption = "UTC",
    every: EveryOption = None,
    at: AtOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    settings: dict[str, Any] | None = None,
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
        "body": body if body is not None else parse_json(json_body, "--json-body"),
        "fail_on_status": fail_on_status,
    }
    fields = {"name": name, "http": request, "schedule": _schedule(cron, tz, every, at)}
    fields = {k: v for k, v in fields.items() if v is not None} | (settings or {})
    event = ApiClient(url, token).post("/events", fields | parse_settings(set_))
    answer(event, as_json, f"Created event {event['id']} ({event['name']}).")


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
        print_json(versions)
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
    print_table(rows, ["version", "created_at", "changes"])


@events_app.command("restore")
def events_restore(
    event_id: int,
    version: Annotated[int, typer.Argument(help="The version to bring back.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bring back the script and settings of an earlier version (as a new version)."""
    event = ApiClient(url, token).post(f"/events/{event_id}/versions/{version}/restore")
    if as_json:
        print_json(event)
        return
    out.print(
        f"Restored version {version} of event {event_id}: it is now version {event['version']}."
    )


@events_app.command("update")
@setting_options(exclude=NOT_OPTIONS)
def events_update(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    script: Annotated[
        Path | None, typer.Option(help="A new script, from this file.", exists=True, dir_okay=False)
    ] = None,
    lang: Annotated[Language | None, typer.Option(help="A new language.")] = None,
    env: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE, repeatable: the whole new env.")
    ] = None,
    cron: CronOption = None,
    tz: TzOption = "UTC",
    every: EveryOption = None,
    at: AtOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Change an event's script or settings (a new version): every option of create, and
    --set NAME=VALUE; --set NAME=null removes a schedule, a pool or a limit on runs."""
    changes = {
        "script": None if script is None else script.read_text(encoding="utf-8"),
        "language": None if lang is None else lang.value,
        "env": None if env is None else parse_env(env),
        "schedule": _schedule(cron, tz, every, at),
    }
    changes = {k: v for k, v in changes.items() if v is not None} | (settings or {})
    changes |= parse_settings(set_)
    if not changes:
        raise ClientError("nothing to change: give --script, a setting's option or --set")
    event = ApiClient(url, token).patch(f"/events/{event_id}", changes)
    answer(event, as_json, f"Updated event {event_id}: it is now version {event['version']}.")


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
        print_json(events)
        return
    for event in events:
        event["tags"] = ", ".join(event["tags"])
    columns = ["id", "name", "kind", "language", "status", "tags", "version", "updated_at"]
    print_table(events, columns)


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
        print_json(event)
        return
    fields = ["id", "name", "description", "tags", "kind", "status", "paused_reason", "version"]
    fields += ["language", "http"]
    fields += ["schedule", "env"]
    limits = ["timeout_seconds", "cpus", "memory_mb", "pids"]
    print_record(event, [*fields, *limits, "created_at", "updated_at"])
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
    as_json: JsonOption = False,
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
    if as_json:
        print_json(fires)
        return
    if not fires:
        err.print(
            "No fire to come: the event is not active, has no schedule, or its schedule has "
            "ended (a one-off time in the past, an end date).",
            highlight=False,
        )
        raise typer.Exit(EXIT_NOT_SUCCEEDED)
    zone = ZoneInfo(tz)
    for fire in fires:
        print(moment(fire, zone))


@events_app.command("pause")
def events_pause(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop firing an event on its schedule."""
    event = ApiClient(url, token).post(f"/events/{event_id}/pause")
    answer(event, as_json, f"Paused event {event_id}.")


@events_app.command("resume")
def events_resume(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fire an event on its schedule again, from now on."""
    event = ApiClient(url, token).post(f"/events/{event_id}/resume")
    answer(event, as_json, f"Resumed event {event_id}.")


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
        bool,
        typer.Option(
            help="Wait for the end (and for the retries that follow), print the log and the "
            "output, exit with the script's exit code."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue a run of an event now; with --json, print the queued execution's id (or, with
    --wait, the ended execution) as JSON."""
    client = ApiClient(url, token)
    payload = parse_json(input, "--input")
    accepted = client.post(f"/events/{event_id}/run", {"input": payload})
    execution_id = accepted["execution_id"]
    if not wait:
        answer(accepted, as_json, f"Queued execution {execution_id}.")
        return
    if as_json:
        ended = wait_for(client, execution_id)
        print_json(ended)
        raise typer.Exit(0 if ended["status"] == "succeeded" else EXIT_NOT_SUCCEEDED)
    http = client.get(f"/events/{event_id}")["kind"] == "http"
    execution = wait_for(client, execution_id)
    while True:
        print_logs(client.get(f"/executions/{execution['id']}/logs"))
        if execution["output"] is not None:
            if http:
                print_json(execution["output"])  # the response: what the run is for
            else:
                err.print(f"output: {shown('output', execution['output'])}", highlight=False)
        err.print(f"Execution {execution['id']} {ending(execution)}.", highlight=False)
        retry = _retry_of(client, execution)
        if retry is None:
            break
        due = f", due {shown('due_at', retry['due_at'])}" if retry["due_at"] else ""
        err.print(
            f"Attempt {retry['attempt']} is queued as execution {retry['id']}{due}: waiting.",
            highlight=False,
        )
        execution = wait_for(client, retry["id"])
    code = execution["exit_code"]
    if code is None:
        code = 0 if execution["status"] == "succeeded" else EXIT_NOT_SUCCEEDED
    raise typer.Exit(code)


def ending(execution: dict[str, Any]) -> str:
    """How an execution ended, in words: its status, exit code or signal, and why."""
    words = str(execution["status"]).replace("_", " ")
    if execution["oom_killed"]:
        words += " (killed: out of memory)"
    elif execution["exit_code"] not in (None, 0):
        words += f" (exit code {execution['exit_code']})"
    elif execution["signal"] and not execution["error"]:
        words += f" (killed by signal {execution['signal']})"
    if execution["error"] and not execution["oom_killed"]:
        words += f": {execution['error']}"
    return words


def _retry_of(client: ApiClient, ended: dict[str, Any]) -> dict[str, Any] | None:
    """The attempt that follows ``ended``, if one was queued when it ended."""
    if ended["status"] not in ("failed", "timed_out"):
        return None
    first = ended["retry_of"] or ended["id"]
    recent = client.get("/executions", event_id=ended["event_id"], limit=50)
    return next(
        (
            row
            for row in recent
            if row["retry_of"] == first and row["attempt"] == ended["attempt"] + 1
        ),
        None,
    )
