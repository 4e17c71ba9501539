"""``cronium events edit``, ``events webhook ...`` and ``events actions ...``: an event's
script in your editor, its webhook, and the events it runs when it ends."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from cronium.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    answer_table,
    err,
    events_app,
    out,
    print_json,
)
from cronium.client import DEFAULT_URL, ApiClient, ClientError
from cronium.domain.action import ActionWhen

SUFFIXES = {"bash": ".sh", "python": ".py", "node": ".js"}

webhook_app = typer.Typer(help="An event's webhook: a URL that runs it.", no_args_is_help=True)
actions_app = typer.Typer(
    help="An event's conditional actions: events run when it ends.", no_args_is_help=True
)
events_app.add_typer(webhook_app, name="webhook")
events_app.add_typer(actions_app, name="actions")


@events_app.command("edit")
def events_edit(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Open the event's script in $VISUAL or $EDITOR (else vi); when the editor exits, a
    changed script is saved as a new version, an unchanged one leaves the event alone."""
    client = ApiClient(url, token)
    event = client.get(f"/events/{event_id}")
    if event["kind"] != "script":
        raise ClientError(f"event {event_id} is a {event['kind']} event: it has no script")
    edited = _edited(event["script"], SUFFIXES.get(event["language"], ".txt"))
    if edited == event["script"]:
        out.print(f"The script of event {event_id} is unchanged: nothing saved.")
        return
    if not edited.strip():
        raise ClientError("the script is empty now: nothing saved (an event needs a script)")
    saved = client.patch(f"/events/{event_id}", {"script": edited})
    out.print(f"Saved the script of event {event_id}: it is now version {saved['version']}.")


def _edited(text: str, suffix: str) -> str:
    """``text`` as the user's editor leaves it."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="cronium-edit-") as folder:
        path = Path(folder) / f"script{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except FileNotFoundError as exc:
            raise ClientError(f"cannot start the editor {editor!r}: set VISUAL or EDITOR") from exc
        if done.returncode != 0:
            raise ClientError(f"the editor exited with status {done.returncode}: nothing saved")
        return path.read_text(encoding="utf-8")


@webhook_app.command("show")
def webhook_show(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Say whether the event has a webhook (its key was shown once, when it was made)."""
    event = ApiClient(url, token).get(f"/events/{event_id}")
    if event["has_webhook"]:
        out.print(
            f"Event {event_id} has a webhook. Its key was shown when it was made; "
            f"`cronium events webhook rotate {event_id}` makes a new one."
        )
    else:
        out.print(f"Event {event_id} has no webhook: `cronium events webhook rotate {event_id}`.")


@webhook_app.command("rotate")
def webhook_rotate(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give the event a webhook, or a new key (the old one stops working); prints its URL,
    shown this once."""
    issued = ApiClient(url, token).post(f"/events/{event_id}/webhook")
    if as_json:
        print_json(issued)
        return
    err.print(
        f"The webhook of event {event_id}, shown this once (POST to it; the body is the input):"
    )
    print(issued["url"])


@webhook_app.command("remove")
def webhook_remove(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Take the event's webhook away: its URL stops working at once."""
    ApiClient(url, token).delete(f"/events/{event_id}/webhook")
    out.print(f"Event {event_id} has no webhook now.")


@actions_app.command("list")
def actions_list(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """What follows when this one ends: events run and messages sent, and when."""
    actions = ApiClient(url, token).get(f"/events/{event_id}")["actions"]
    if as_json:
        answer_table(actions, [], as_json)
        return
    rows = [{"when": a["when"], "does": _does(a)} for a in actions]
    answer_table(rows, ["when", "does"], as_json)


def _does(action: dict[str, Any]) -> str:
    notify = action.get("notify")
    if notify is None:
        return f"run event {action['event_id']}"
    return f"{notify['action']} through {notify['tool']} {json.dumps(notify['params'])}"


@actions_app.command("add")
def actions_add(
    event_id: int,
    when: Annotated[ActionWhen, typer.Argument(help="success, failure, always or condition.")],
    target: Annotated[int, typer.Argument(help="The event to run, with this run's output.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Run event TARGET (with this run's output as its input) when this one ends so."""
    client = ApiClient(url, token)
    actions = _actions(client, event_id)
    wanted = {"when": when.value, "event_id": target}
    if wanted in actions:
        out.print(f"Event {event_id} runs event {target} on {when.value} already.")
        return
    _save(client, event_id, [*actions, wanted])
    out.print(f"Event {event_id} runs event {target} on {when.value} now.")


@actions_app.command("notify")
def actions_notify(
    event_id: int,
    when: Annotated[ActionWhen, typer.Argument(help="success, failure, always or condition.")],
    tool: Annotated[str, typer.Argument(help="One of your tools, or a kind (docs/tools.md).")],
    action: Annotated[str, typer.Argument(help="send_message, send_email or send.")],
    params: Annotated[
        list[str] | None,
        typer.Option("--param", help="A param: text='{{ event.name }} failed' (repeatable)."),
    ] = None,
    params_json: Annotated[
        str | None, typer.Option("--params", help="All params as one JSON object.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Send a message through TOOL when this one ends so (params may be templates)."""
    given: dict[str, Any] = {}
    if params_json is not None:
        try:
            given = json.loads(params_json)
        except ValueError as exc:
            raise ClientError(f"--params is not JSON: {exc}") from None
        if not isinstance(given, dict):
            raise ClientError("--params must be a JSON object")
    for param in params or []:
        name, sep, value = param.partition("=")
        if not sep or not name:
            raise ClientError(f"--param {param!r}: write NAME=VALUE (text=hello)")
        given[name] = value
    client = ApiClient(url, token)
    wanted = {"when": when.value, "notify": {"tool": tool, "action": action, "params": given}}
    _save(client, event_id, [*_actions(client, event_id), wanted])
    out.print(f"Event {event_id} sends {action} through {tool} on {when.value} now.")


@actions_app.command("remove")
def actions_remove(
    event_id: int,
    when: Annotated[ActionWhen, typer.Argument(help="success, failure, always or condition.")],
    target: Annotated[int, typer.Argument(help="The event it runs.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Stop running event TARGET when this one ends so."""
    client = ApiClient(url, token)
    actions = _actions(client, event_id)
    kept = [a for a in actions if a != {"when": when.value, "event_id": target}]
    if len(kept) == len(actions):
        raise ClientError(f"event {event_id} does not run event {target} on {when.value}")
    _save(client, event_id, kept)
    out.print(f"Event {event_id} no longer runs event {target} on {when.value}.")


@actions_app.command("clear")
def actions_clear(event_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Remove every action of the event."""
    _save(ApiClient(url, token), event_id, [])
    out.print(f"Event {event_id} runs no other event when it ends now.")


def _actions(client: ApiClient, event_id: int) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = client.get(f"/events/{event_id}")["actions"]
    return actions


def _save(client: ApiClient, event_id: int, actions: list[dict[str, Any]]) -> None:
    client.patch(f"/events/{event_id}", {"actions": actions})
