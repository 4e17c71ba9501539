"""``cronium vars ...``: your variables on a server, the values your scripts keep by key.

A secret's value is never printed by ``list`` or ``get`` (``***``); ``reveal`` prints it, and
the server audits that.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cronium.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    answer,
    app,
    err,
    out,
    print_json,
    print_table,
)
from cronium.client import DEFAULT_URL, ApiClient
from cronium.errors import InvalidInputError

vars_app = typer.Typer(help="Your variables on a server (what scripts keep by key).")
app.add_typer(vars_app, name="vars", no_args_is_help=True)

HIDDEN = "***"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION = re.compile(r"(\d+)([smhdw])")


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def parse_duration(text: str) -> int:
    """``90`` (seconds), ``30s``, ``15m``, ``2h``, ``7d``, ``1w``, or a sum (``1h30m``)."""
    compact = text.strip().lower().replace(" ", "")
    if compact.isdigit():
        seconds = int(compact)
    elif compact and DURATION.sub("", compact) == "":
        seconds = sum(int(n) * UNITS[unit] for n, unit in DURATION.findall(compact))
    else:
        raise InvalidInputError(
            f"{text!r} is not a duration: use seconds (90) or units s, m, h, d, w (15m, 1h30m)"
        )
    if seconds < 1:
        raise InvalidInputError("an expiry must be at least one second away")
    return seconds


def _row(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": found["key"],
        "value": HIDDEN if found["secret"] else _shown(found["value"]),
        "description": found["description"],
        "expires_at": found["expires_at"],
        "schema": "yes" if found.get("schema") else "",
    }


@vars_app.command("list")
def vars_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List your variables: values as JSON, secrets as ***, descriptions and expiries."""
    found = ApiClient(url, token).get("/variables")
    columns = ["key", "value", "description", "expires_at", "schema"]
    if as_json:
        print_json(found)
    else:
        print_table([_row(one) for one in found], columns)


@vars_app.command("get")
def vars_get(
    key: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Print one variable's value as JSON (for jq and scripts); a secret's as ***. --json
    prints the whole variable (description, schema, expiry)."""
    found = ApiClient(url, token).get(f"/variables/{key}")
    if as_json:
        print_json(found)
    elif found["secret"]:
        out.print(HIDDEN, highlight=False)
        err.print(f"{key} is a secret: `cronium vars reveal {key}` prints it.", highlight=False)
    else:
        print_json(found["value"])


@vars_app.command("set")
def vars_set(
    key: str,
    value: Annotated[
        str | None,
        typer.Argument(
            help="A JSON value (true, 3, {...}), or text. Left out: read from --from-file, "
            "else from standard input (asked for on a terminal; hidden with --secret).",
            show_default=False,
        ),
    ] = None,
    string: Annotated[
        bool, typer.Option("--string", "-s", help="Keep VALUE as text even if it is JSON.")
    ] = False,
    secret: Annotated[
        bool,
        typer.Option(
            "--secret", help="Store the value encrypted; it is never listed or printed by get."
        ),
    ] = False,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Read the value from this file ('-': standard input)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What the variable is for.")
    ] = None,
    schema_file: Annotated[
        Path | None,
        typer.Option(
            "--schema-file",
            help="A JSON Schema (Draft 2020-12) this and every later value must satisfy.",
        ),
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in",
            help="After this long the variable reads as missing: 90 (seconds), 15m, 2h, 7d.",
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create or replace a variable. VALUE is read as JSON when it is JSON (so false stays a
    boolean), else kept as text; --string keeps it as text always. What is not given
    (description, schema, secrecy, expiry) stays as it was."""
    text = _value_text(value, from_file, hidden=secret)
    parsed = text if string else _json_or_text(text)
    body: dict[str, Any] = {"value": parsed}
    if secret:
        body["secret"] = True
    if description is not None:
        body["description"] = description
    if schema_file is not None:
        body["schema"] = _schema_of(schema_file)
    if expires_in is not None:
        body["expires_in"] = parse_duration(expires_in)
    written = ApiClient(url, token).put(f"/variables/{key}", body)
    shown = HIDDEN if written["secret"] else _shown(parsed)
    answer(written, as_json, f"Set {key} = {shown}.")


@vars_app.command("delete")
def vars_delete(key: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Delete a variable."""
    ApiClient(url, token).delete(f"/variables/{key}")
    out.print(f"Deleted {key}.", highlight=False)


@vars_app.command("reveal")
def vars_reveal(
    key: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Print one of your secrets' value as JSON. The server records every reveal in its
    audit log."""
    found = ApiClient(url, token).post(f"/variables/{key}/reveal")
    if as_json:
        print_json(found)
    else:
        print_json(found["value"])


def _value_text(value: str | None, from_file: Path | None, *, hidden: bool) -> str:
    """The value's text: the argument, the file, or standard input (one final newline
    dropped: what an editor or ``echo`` adds)."""
    if value is not None and from_file is not None:
        raise InvalidInputError("give VALUE or --from-file, not both")
    if value is not None:
        return value
    if from_file is not None and str(from_file) != "-":
        try:
            text = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read {from_file}: {exc}") from None
    elif sys.stdin.isatty():
        text = typer.prompt("Value", hide_input=hidden)
    else:
        text = sys.stdin.read()
    return text.removesuffix("\n")


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _schema_of(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the schema file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"the schema file {path} is not JSON: {exc}") from None
