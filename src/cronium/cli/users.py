"""``cronium users ...``: what an operator does on the database directly (no server needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from cronium.cli.common import err, users_app
from cronium.settings import load_settings

if TYPE_CHECKING:
    from cronium.service import Service

T = TypeVar("T")


def on_the_database(use: Callable[[Service], Awaitable[T]]) -> T:
    """``use(service)`` on the settings' database (migrated first), closed after."""
    from cronium.keys import keyring_for
    from cronium.service import Service
    from cronium.storage import Store
    from cronium.storage.database import create_engine, migrate

    async def run() -> T:
        settings = load_settings()
        keyring = keyring_for(settings)
        engine = create_engine(settings.database_url_value)
        try:
            await migrate(engine)
            return await use(Service(Store(engine, keyring)))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@users_app.command("create-admin")
def create_admin(name: Annotated[str, typer.Argument(help="The new user's name.")]) -> None:
    """Create an administrator and print its first API token (shown once)."""

    async def create(service: Service) -> str:
        _, issued = await service.accounts.create_admin(name)
        return issued.secret

    secret = on_the_database(create)
    err.print(f"Created the administrator {name!r}. Its API token, shown this once:")
    print(secret)


@users_app.command("token")
def users_token(
    user: Annotated[str, typer.Argument(help="The name of an existing user.")],
    name: Annotated[str, typer.Option(help="The token's name.")] = "cli",
    expires_in_days: Annotated[int | None, typer.Option(help="Default: never.")] = None,
) -> None:
    """Issue an API token for an existing user and print it (shown once): the way back in for
    a user who revoked their last token."""
    expires_in = None if expires_in_days is None else timedelta(days=expires_in_days)

    async def issue(service: Service) -> str:
        issued = await service.accounts.issue_token_for(user, name=name, expires_in=expires_in)
        return issued.secret

    secret = on_the_database(issue)
    err.print(f"Issued a token {name!r} for {user!r}; shown this once:")
    print(secret)
