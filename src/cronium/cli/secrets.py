"""``cronium secrets ...``: the deployment key that secrets are encrypted under (works on the
database directly, no server needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cronium.cli.common import app, err, out
from cronium.crypto import generate_key
from cronium.settings import load_settings

if TYPE_CHECKING:
    from cronium.keys import Rotation

secrets_app = typer.Typer(
    help="The deployment key that secrets are encrypted under.", no_args_is_help=True
)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("generate-key")
def generate() -> None:
    """Print a new deployment key (32 random bytes in base64). Keep it in a file of mode
    0600 and point CRONIUM_SECRET_KEY_FILE at it."""
    print(generate_key())


@secrets_app.command("rotate-key")
def rotate_key(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="The new key (from generate-key). Needed when the key is configured "
            "(CRONIUM_SECRET_KEY or CRONIUM_SECRET_KEY_FILE); the embedded database's key "
            "is replaced by a new one otherwise.",
        ),
    ] = None,
) -> None:
    """Re-encrypt every stored secret under a new key, in one transaction, then switch to it.
    Stop the servers first. An interrupted rotation is finished by running this again."""
    done = asyncio.run(_rotate(new_key_file))
    out.print(
        f"Re-encrypted {done.rewritten} secret(s) from key {done.old_id} to key {done.new_id}.",
        highlight=False,
    )
    if done.switch_setting:
        err.print(
            f"Now set CRONIUM_SECRET_KEY_FILE={new_key_file} (or CRONIUM_SECRET_KEY to its "
            "content) on every server, then start them: the old key no longer opens the "
            "secrets.",
            highlight=False,
        )
    else:
        err.print("The data directory's secret.key is the new key; start the server.")


async def _rotate(new_key_file: Path | None) -> Rotation:
    from cronium.keys import rotate
    from cronium.server import opened_store

    settings = load_settings()
    async with opened_store(settings) as store:
        return await rotate(settings, store, datetime.now(UTC), new_key_file)
