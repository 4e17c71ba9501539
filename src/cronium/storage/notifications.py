"""PostgreSQL's notifications, listened to on one supervised connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

from sqlalchemy.exc import DBAPIError

from cronium.errors import StorageError
from cronium.storage.transactions import Database, storage_error
from cronium.supervision import LoopHealth

LISTENER_CHECK_SECONDS = 2.0


@contextlib.asynccontextmanager
async def listen(
    db: Database,
    channels: Collection[str],
    on_notify: Callable[[str, str], None],
    health: LoopHealth | None = None,
) -> AsyncIterator[bool]:
    """Call ``on_notify(channel, payload)`` for PostgreSQL notifications while inside.

    Yields whether notifications work here (False on SQLite: poll instead). The listening
    connection is supervised: when it is lost it is opened again, with a back-off, and
    ``on_notify("", "")`` is called once it is back (something may have been missed).
    """
    if db.dialect != "postgresql":
        yield False
        return
    health = health or LoopHealth("the notification listener")
    listener = asyncio.create_task(_listen_forever(db, channels, on_notify, health))
    try:
        yield True
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def _listen_forever(
    db: Database,
    channels: Collection[str],
    on_notify: Callable[[str, str], None],
    health: LoopHealth,
) -> None:
    def callback(_connection: Any, _pid: int, channel: str, payload: str) -> None:
        on_notify(channel, payload)

    while True:
        try:
            async with db.engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                for channel in channels:
                    await driver.add_listener(channel, callback)
                if health.failures:
                    on_notify("", "")
                health.succeeded()
                while not driver.is_closed():
                    await asyncio.sleep(LISTENER_CHECK_SECONDS)
                    await driver.execute("SELECT 1")
        except (DBAPIError, OSError, StorageError) as exc:
            delay = health.failed(exc if isinstance(exc, StorageError) else storage_error(exc))
        except Exception as exc:  # supervised: one bug must not end the listening
            delay = health.failed(exc)
        else:
            delay = health.failed(StorageError("the listening connection was closed"))
        await asyncio.sleep(delay)
