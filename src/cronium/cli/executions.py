"""``cronium executions ...``, ``cronium workers``, ``cronium tokens ...``."""

from __future__ import annotations

from typing import Annotated

import typer

from cronium.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    answer_table,
    app,
    err,
    executions_app,
    out,
    print_json,
    print_logs,
    print_record,
    tokens_app,
)
from cronium.client import DEFAULT_URL, ApiClient
from cronium.domain.user import Scope
from cronium.tokens import display_prefix


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
        print_json({**execution, "logs": logs})
        return
    print_record(execution, list(execution))
    print_logs(logs)


@executions_app.command("cancel")
def executions_cancel(
    execution_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel an execution: at once if queued; a running one is stopped by its worker."""
    execution = ApiClient(url, token).post(f"/executions/{execution_id}/cancel")
    if as_json:
        print_json(execution)
        return
    state = "cancelled" if execution["status"] == "cancelled" else "being cancelled"
    out.print(f"Execution {execution_id} is {state}.")


@app.command("workers")
def workers_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List workers: host, backend, tags, capacity, running count, last heartbeat, state."""
    rows = ApiClient(url, token).get("/workers")
    answer_table(
        rows,
        ["id", "backend", "tags", "capacity", "running", "last_heartbeat_at", "state"],
        as_json,
    )


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
    answer_table(
        rows, ["id", "event_id", "status", "exit_code", "queued_at", "run_seconds"], as_json
    )


@tokens_app.command("create")
def tokens_create(
    name: str,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    expires_in_days: Annotated[int | None, typer.Option(help="Default: never.")] = None,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(
            help="What it may do (repeatable): read, run, write, admin. Default: all your"
            " credential may."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API token for yourself and print it (shown once)."""
    body: dict[str, object] = {"name": name, "expires_in_days": expires_in_days}
    if scope:
        body["scopes"] = [s.value for s in scope]
    issued = ApiClient(url, token).post("/tokens", body)
    if as_json:
        print_json(issued)
        return
    err.print(f"Created token {issued['id']} ({issued['name']}); shown this once:")
    print(issued["token"])


@tokens_app.command("list")
def tokens_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List your API tokens (never their secrets)."""
    rows = ApiClient(url, token).get("/tokens")
    answer_table(
        rows,
        ["id", "name", "prefix", "scopes", "expires_at", "revoked_at", "last_used_at"],
        as_json,
    )


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Revoke without asking.")] = False,
) -> None:
    """Revoke one of your API tokens; asks first when it is the token in use."""
    client = ApiClient(url, token)
    if not yes and _is_in_use(client, token_id, token):
        typer.confirm(
            f"Token {token_id} is the one this command uses: once revoked, it signs you out "
            "(an operator can issue you another with `cronium users token NAME`). Revoke it?",
            abort=True,
        )
    client.delete(f"/tokens/{token_id}")
    out.print(f"Revoked token {token_id}.")


def _is_in_use(client: ApiClient, token_id: int, secret: str | None) -> bool:
    prefix = display_prefix(secret or "")
    return any(row["id"] == token_id and row["prefix"] == prefix for row in client.get("/tokens"))
