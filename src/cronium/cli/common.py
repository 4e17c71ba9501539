"""What every ``cronium`` command shares: the command tree, consoles, options, printing and
parsing."""

from __future__ import annotations

import json
import os
import sys
import time
import typing
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cronium.cli.shown import shown
from cronium.client import ApiClient, ClientError
from cronium.domain import settings as declared
from cronium.domain.event import EventSettings

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


# client side


@app.callback()
def global_options(
    url: Annotated[
        str | None,
        typer.Option("--url", help="Server address, for every client command [CRONIUM_URL]."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="API token, for every client command.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON, for every command that prints data.")
    ] = False,
) -> None:
    """Options given before the command stand for every command: they are handed on as the
    environment the command reads (CRONIUM_URL, CRONIUM_TOKEN, CRONIUM_JSON)."""
    for variable, value in (("CRONIUM_URL", url), ("CRONIUM_TOKEN", token)):
        if value is not None:
            os.environ[variable] = value
    if as_json:
        os.environ["CRONIUM_JSON"] = "1"


UrlOption = Annotated[
    str, typer.Option("--url", envvar="CRONIUM_URL", help="Server address.", show_default=True)
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="CRONIUM_TOKEN", help="API token.", show_default=False),
]
JsonOption = Annotated[
    bool, typer.Option("--json", envvar="CRONIUM_JSON", help="Print the server's JSON answer.")
]
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


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def answer(data: Any, as_json: bool, sentence: str) -> None:
    """A command's answer: ``data`` as JSON when asked for, else the sentence a person reads."""
    if as_json:
        print_json(data)
    else:
        out.print(sentence)


def answer_table(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    """A command's rows: as JSON when asked for, else a table of ``columns``."""
    if as_json:
        print_json(rows)
    else:
        print_table(rows, columns)


def print_record(record: dict[str, Any], fields: list[str]) -> None:
    """``name: value`` lines of the fields that have a value, as a person reads them."""
    for name in fields:
        value = record.get(name)
        if value not in (None, {}, [], ""):
            out.print(f"[b]{name}[/b]: {escape(shown(name, value, pretty=True))}", highlight=False)


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A table that fits the terminal, its cells as a person reads them."""
    table = Table(*columns)
    for row in rows:
        table.add_row(*(escape(shown(column, row.get(column))) for column in columns))
    out.print(table)


def parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ClientError(f"--env {pair!r}: write it as NAME=VALUE")
        env[name] = value
    return env


def parse_settings(pairs: list[str] | None) -> dict[str, Any]:
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


def parse_json(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClientError(f"{option} is not valid JSON: {exc}") from exc


def wait_for(client: ApiClient, execution_id: int) -> dict[str, Any]:
    delay = 0.05
    while True:
        execution: dict[str, Any] = client.get(f"/executions/{execution_id}")
        if execution["status"] in TERMINAL:
            return execution
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def print_logs(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        stream = sys.stdout if line["stream"] == "stdout" else sys.stderr
        print(line["line"], file=stream)
