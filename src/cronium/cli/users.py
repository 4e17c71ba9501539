"""``cronium users ...`` beside ``create-admin``: what an operator does on the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer

from cronium.cli.common import err, users_app
from cronium.settings import load_settings


@users_app.command("token")
def users_token(
    user: Annotated[str, typer.Argument(help="The name of an existing user.")],
    name: Annotated[str, typer.Option(help="The token's name.")] = "cli",
    expires_in_days: Annotated[int | None, typer.Option(help="Default: never.")] = None,
) -> None:
    """Issue an API token for an existing user and print it (shown once): the way back in for
    a user who revoked their last token."""
    from cronium.service import Service
    from cronium.storage import Store
    from cronium.storage.database import create_engine, migrate

    expires_in = None if expires_in_days is None else timedelta(days=expires_in_days)

    async def issue() -> str:
        engine = create_engine(load_settings().database_url_value)
        try:
            await migrate(engine)
            service = Service(Store(engine))
            issued = await service.issue_token_for(user, name=name, expires_in=expires_in)
            return issued.secret
        finally:
            await engine.dispose()

    secret = asyncio.run(issue())
    err.print(f"Issued a token {name!r} for {user!r}; shown this once:")
    print(secret)
