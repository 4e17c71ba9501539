"""PostgreSQL's notifications, listened to on one supervised connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cronium.errors import StorageError
from cronium.storage.transactions import Database, Unit, storage_error
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


# Log lines and ends of executions, announced to followers (see cronium.follow): on PostgreSQL
# by NOTIFY on this channel, with the payload "<execution id> <last seq>" or
# "<execution id> end"; in this process by the callbacks given to :func:`on_announce`, after
# the transaction commits.
LOGS_CHANNEL = "cronium_logs"
END = "end"

Announced = Callable[[int, str], None]
_ANNOUNCED_KEY = "cronium_announced"
_listeners: dict[int, list[Announced]] = {}


def on_announce(db: Database, callback: Announced) -> Callable[[], None]:
    """Call ``callback(execution_id, seq or END)`` after a transaction of this process stored
    lines of an execution, or ended it; the function that stops it."""
    listeners = _listeners.setdefault(id(db.engine.sync_engine), [])
    listeners.append(callback)

    def stop() -> None:
        listeners.remove(callback)

    return stop


async def announce(unit: Unit, execution_id: int, what: str) -> None:
    """Announce lines (``what``: the last seq stored) or the end (:data:`END`) of an
    execution, when ``unit`` commits."""
    await unit.notify(LOGS_CHANNEL, f"{execution_id} {what}")
    sync_session = unit.session.sync_session
    pending: list[tuple[int, str]] | None = sync_session.info.get(_ANNOUNCED_KEY)
    if pending is None:
        pending = sync_session.info[_ANNOUNCED_KEY] = []
        event.listen(sync_session, "after_commit", _after_commit, once=True)
        event.listen(sync_session, "after_rollback", _after_rollback, once=True)
    pending.append((execution_id, what))


def _after_commit(sync_session: Session) -> None:
    announced = sync_session.info.pop(_ANNOUNCED_KEY, [])
    bind = sync_session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    for callback in list(_listeners.get(id(engine), ())):
        for execution_id, what in announced:
            callback(execution_id, what)


def _after_rollback(sync_session: Session) -> None:
    sync_session.info.pop(_ANNOUNCED_KEY, None)
