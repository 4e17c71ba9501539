"""``cronium vars ...``: your variables on a server, the values your scripts keep by key."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cronium.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    app,
    out,
    print_json,
    print_table,
)
from cronium.client import DEFAULT_URL, ApiClient

vars_app = typer.Typer(help="Your variables on a server (what scripts keep by key).")
app.add_typer(vars_app, name="vars", no_args_is_help=True)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@vars_app.command("list")
def vars_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List your variables and their values (as JSON)."""
    found = ApiClient(url, token).get("/variables")
    if as_json:
        print_json(found)
        return
    print_table([{"key": k, "value": _shown(v)} for k, v in found.items()], ["key", "value"])


@vars_app.command("get")
def vars_get(key: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Print one variable's value as JSON (for jq and scripts)."""
    print_json(ApiClient(url, token).get(f"/variables/{key}")["value"])


@vars_app.command("set")
def vars_set(
    key: str,
    value: Annotated[str, typer.Argument(help="A JSON value (true, 3, {...}), or text.")],
    string: Annotated[
        bool, typer.Option("--string", "-s", help="Keep VALUE as text even if it is JSON.")
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Create or replace a variable. VALUE is read as JSON when it is JSON (so false stays a
    boolean), else kept as text; --string keeps it as text always."""
    parsed: Any = value
    if not string:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
    ApiClient(url, token).put(f"/variables/{key}", {"value": parsed})
    out.print(f"Set {key} = {_shown(parsed)}.", highlight=False)


@vars_app.command("delete")
def vars_delete(key: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Delete a variable."""
    ApiClient(url, token).delete(f"/variables/{key}")
    out.print(f"Deleted {key}.", highlight=False)
