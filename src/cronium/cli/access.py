"""``cronium users create|list|disable|enable|delete|set-role|set-password`` (on the database,
like ``users create-admin``), ``cronium events share|unshare|shares`` and ``cronium audit``
(on a server)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cronium.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    answer,
    answer_table,
    app,
    err,
    events_app,
    users_app,
)
from cronium.cli.users import on_the_database
from cronium.client import DEFAULT_URL, ApiClient
from cronium.domain.share import ShareRole
from cronium.domain.user import Role, User

if TYPE_CHECKING:
    from cronium.accounts import Accounts
    from cronium.service import Service

NameArgument = Annotated[str, typer.Argument(help="The user's name.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (else it is asked for on a terminal).",
    ),
]
USER_COLUMNS = ["id", "name", "role", "disabled", "has_password", "created_at"]


def _user_row(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role.value,
        "disabled": user.disabled_at is not None,
        "has_password": user.has_password,
        "created_at": user.created_at.isoformat(),
    }


def _read_password(from_stdin: bool, *, required: bool) -> str | None:
    """The password from standard input, or asked for twice on a terminal; never an argument
    (arguments show in the process list and in shell history)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    if required:
        raise typer.BadParameter("give the password on standard input with --password-stdin")
    return None


@users_app.command("create")
def users_create(
    name: NameArgument,
    role: Annotated[Role, typer.Option(help="admin, user or viewer.")] = Role.USER,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user. With a password they can log in to the web UI; without one (standard
    input not a terminal and no --password-stdin) they use API tokens only."""
    password = _read_password(password_stdin, required=False)

    async def create(service: Service) -> User:
        return await service.accounts.create_user(None, name, role, password)

    user = on_the_database(create)
    answer(_user_row(user), as_json, f"Created the {user.role.value} {user.name!r}.")


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """Every user, with their role and whether they are disabled."""

    async def everyone(service: Service) -> list[User]:
        return await service.store.users.all()

    answer_table([_user_row(u) for u in on_the_database(everyone)], USER_COLUMNS, as_json)


def _change(change: Callable[[Accounts], Awaitable[User]], as_json: bool, said: str) -> None:
    """``change`` on the database; the user as changed, or ``said`` (``{name}`` filled in)."""

    async def on(service: Service) -> User:
        return await change(service.accounts)

    user = on_the_database(on)
    answer(_user_row(user), as_json, said.format(name=repr(user.name), role=user.role.value))


@users_app.command("set-role")
def users_set_role(
    name: NameArgument,
    role: Annotated[Role, typer.Argument(help="admin, user or viewer.")],
    as_json: JsonOption = False,
) -> None:
    """Change a user's role; it applies to their sessions and tokens at once."""
    _change(
        lambda accounts: accounts.set_role(None, name, role), as_json, "{name} is now a {role}."
    )


@users_app.command("set-password")
def users_set_password(
    name: NameArgument, password_stdin: PasswordStdin = False, as_json: JsonOption = False
) -> None:
    """Set a user's password (at least 10 characters)."""
    password = _read_password(password_stdin, required=True) or ""
    _change(
        lambda accounts: accounts.set_password(None, name, password),
        as_json,
        "Set the password of {name}.",
    )


@users_app.command("disable")
def users_disable(name: NameArgument, as_json: JsonOption = False) -> None:
    """Disable a user: their sessions end and their API tokens stop working at once."""
    _change(lambda accounts: accounts.disable(None, name), as_json, "Disabled {name}.")


@users_app.command("enable")
def users_enable(name: NameArgument, as_json: JsonOption = False) -> None:
    """Enable a disabled user again (their unexpired tokens work again)."""
    _change(lambda accounts: accounts.enable(None, name), as_json, "Enabled {name}.")


@users_app.command("delete")
def users_delete(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
) -> None:
    """Delete a user with everything they own: events, executions, logs, variables."""
    if not yes:
        typer.confirm(f"Delete {name!r} and everything they own?", abort=True)

    async def delete(service: Service) -> User:
        return await service.accounts.delete(None, name)

    on_the_database(delete)
    err.print(f"Deleted {name!r}.")


@events_app.command("share")
def events_share(
    event_id: Annotated[int, typer.Argument(help="The event's (or workflow's) id.")],
    user: Annotated[str, typer.Argument(help="The user to share it with.")],
    role: Annotated[
        ShareRole, typer.Option("--as", help="viewer: read it; operator: also run and cancel it.")
    ] = ShareRole.VIEWER,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Share one of your events or workflows with another user."""
    shares = ApiClient(url, token).put(
        f"/events/{event_id}/shares", {"user": user, "role": role.value}
    )
    answer(shares, as_json, f"Event {event_id} is shared with {user!r} as {role.value}.")


@events_app.command("unshare")
def events_unshare(
    event_id: int,
    user: str,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Stop sharing an event with a user."""
    ApiClient(url, token).delete(f"/events/{event_id}/shares/{user}")
    err.print(f"Event {event_id} is no longer shared with {user!r}.")


@events_app.command("shares")
def events_shares(
    event_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who an event is shared with, and how."""
    rows = ApiClient(url, token).get(f"/events/{event_id}/shares")
    answer_table(rows, ["user", "role", "created_at"], as_json)


@app.command("audit")
def audit(
    user: Annotated[str | None, typer.Option(help="Only what this user did.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. auth.login_failed, secret.read.")
    ] = None,
    since: Annotated[datetime | None, typer.Option(help="From this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The audit log, newest first (administrators): logins, tokens, secrets, sharing, users."""
    rows = ApiClient(url, token).get(
        "/audit",
        user=user,
        action=action,
        since=None if since is None else since.isoformat(),
        until=None if until is None else until.isoformat(),
        limit=limit,
    )
    columns = ["at", "actor", "action", "target", "address", "execution_id"]
    answer_table(rows, columns, as_json)
