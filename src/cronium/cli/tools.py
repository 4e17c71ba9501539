"""``cronium tools ...``: your tools on a server: credentials for Slack, Discord, Microsoft
Teams, email (SMTP) and webhooks, kept encrypted and never printed; and the messages sent
through them.

Credentials come from ``--from-file`` (a JSON object; ``-`` reads standard input) and
``--set FIELD=VALUE``; a secret field left out (a webhook URL, a password) is asked for on a
terminal without echo. Prefer the file or the prompt for secrets: a command line is seen by
other users of the machine and kept in shell history.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cronium.cli.common import (
    EXIT_NOT_SUCCEEDED,
    JsonOption,
    TokenOption,
    UrlOption,
    answer,
    answer_table,
    app,
    out,
    print_json,
)
from cronium.client import DEFAULT_URL, ApiClient
from cronium.errors import InvalidInputError

tools_app = typer.Typer(help="Your tools: credentials for Slack, Discord, Teams, email, webhooks.")
app.add_typer(tools_app, name="tools", no_args_is_help=True)

# The field of each kind that holds its secret: asked for without echo when not given.
SECRET_FIELD = {"slack": "webhook_url", "discord": "webhook_url", "teams": "webhook_url",
                "webhook": "url"}  # fmt: skip
INTEGER_FIELDS = {"port"}


@tools_app.command("add")
def tools_add(
    name: str,
    kind: Annotated[str, typer.Option("--kind", help="slack, discord, teams, email or webhook.")],
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="The credentials as a JSON object ('-': stdin)."),
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A credential field: host=smtp.example.com, port=587, sender=ops@example.com,"
            " tls=starttls, username=ops, method=POST... (repeatable)",
        ),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What it is for.")] = "",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep credentials for a service under NAME (encrypted on the server; never shown back).
    Scripts and actions name the tool, or its kind when you have one tool of that kind."""
    credentials = _credentials(kind, from_file, fields or [])
    body = {"name": name, "kind": kind, "credentials": credentials, "description": description}
    added = ApiClient(url, token).post("/tools", body)
    answer(added, as_json, f"Added {kind} tool {name} ({_summary(added)}).")


@tools_app.command("list")
def tools_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List your tools: name, kind, what is not secret of their credentials."""
    rows = [{**tool, "summary": _summary(tool)} for tool in ApiClient(url, token).get("/tools")]
    answer_table(rows, ["name", "kind", "summary", "description"], as_json)


@tools_app.command("test")
def tools_test(
    name: str,
    to: Annotated[
        str | None, typer.Option("--to", help="email: the recipient (default: the sender).")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a real test message through the tool; exits 1 if it was not delivered."""
    body = {} if to is None else {"to": to}
    delivery = ApiClient(url, token).post(f"/tools/{name}/test", body)
    if as_json:
        print_json(delivery)
    elif delivery["status"] == "sent":
        out.print(f"Sent to {delivery['target']}: {delivery['code']} {delivery['reply'] or ''}",
                  highlight=False)  # fmt: skip
    else:
        reason = (
            delivery["error"] or f"the service answered {delivery['code']}: {delivery['reply']}"
        )
        out.print(f"Not delivered after {delivery['attempts']} attempt(s): {reason}",
                  highlight=False)  # fmt: skip
    if delivery["status"] != "sent":
        raise typer.Exit(EXIT_NOT_SUCCEEDED)


@tools_app.command("delete")
def tools_delete(name: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Delete a tool (what names it will fail to send, saying so)."""
    ApiClient(url, token).delete(f"/tools/{name}")
    out.print(f"Deleted tool {name}.", highlight=False)


@tools_app.command("deliveries")
def tools_deliveries(
    execution: Annotated[
        int | None, typer.Option("--execution", help="Only this execution's messages.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The messages sent (or still being tried) through your tools, newest first."""
    client = ApiClient(url, token)
    if execution is not None:
        rows = client.get(f"/executions/{execution}/deliveries")
    else:
        rows = client.get(f"/deliveries?limit={limit}")
    columns = ["id", "execution_id", "tool", "action", "status", "target", "attempts", "code",
               "error"]  # fmt: skip
    answer_table(rows, columns, as_json)


def _credentials(kind: str, from_file: Path | None, fields: list[str]) -> dict[str, Any]:
    """The credentials of the file, the ``--set`` fields over them, and a secret asked for."""
    credentials: dict[str, Any] = {}
    if from_file is not None:
        try:
            text = sys.stdin.read() if str(from_file) == "-" else from_file.read_text("utf-8")
            credentials = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidInputError(f"cannot read credentials from {from_file}: {exc}") from None
        if not isinstance(credentials, dict):
            raise InvalidInputError(f"{from_file}: the credentials must be a JSON object")
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--set {field!r}: write FIELD=VALUE (host=smtp.example.com)")
        credentials[key] = int(value) if key in INTEGER_FIELDS and value.isdigit() else value
    secret = SECRET_FIELD.get(kind)
    if secret is not None and secret not in credentials and sys.stdin.isatty():
        credentials[secret] = typer.prompt(secret.replace("_", " "), hide_input=True)
    wants_password = kind == "email" and credentials.get("username")
    if wants_password and "password" not in credentials and sys.stdin.isatty():
        credentials["password"] = typer.prompt("password", hide_input=True)
    return credentials


def _summary(tool: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in (tool.get("summary") or {}).items())
