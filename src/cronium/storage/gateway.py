"""The base of the storage gateway: sessions for reads and for writes, errors translated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cronium.errors import StorageError
from cronium.storage.database import READ_OPTION, WRITE_OPTION

# PostgreSQL notification channels: something was queued; a running execution was cancelled.
QUEUE_CHANNEL = "cronium_queue"
CANCEL_CHANNEL = "cronium_cancel"


def storage_error(exc: DBAPIError | OSError) -> StorageError:
    """The database's failure (gone, refusing connections, disk full...) as ours."""
    if isinstance(exc, DBAPIError):
        detail = getattr(exc.orig, "sqlite_errorname", "")
        return StorageError(f"the database failed: {exc.orig} {detail}".strip())
    return StorageError(f"the database could not be reached: {exc}")


class Gateway:
    """Sessions over one engine; the named operations live in the classes built on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue here, in order,
        # rather than in SQLite's busy handler, which sleeps longer and longer while it waits.
        self._write_turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        """A session for one read statement (on SQLite it runs without BEGIN: fewer trips)."""
        async with self._sessions() as session:
            try:
                await session.connection(execution_options={READ_OPTION: True})
                yield session
            except IntegrityError:
                raise  # the operation's own business (a duplicate name, say)
            except (DBAPIError, OSError) as exc:
                raise storage_error(exc) from exc

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        if self._write_turn is None:
            async with self._write_session() as session:
                yield session
            return
        async with self._write_turn, self._write_session() as session:
            yield session

    @asynccontextmanager
    async def _write_session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                # Autobegins the transaction, as a write one (BEGIN IMMEDIATE on SQLite).
                await session.connection(execution_options={WRITE_OPTION: True})
                yield session
                await session.commit()
            except IntegrityError:
                raise  # the operation's own business (a duplicate name, say)
            except (DBAPIError, OSError) as exc:
                raise storage_error(exc) from exc

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    async def _notify(self, session: AsyncSession, channel: str, payload: str = "") -> None:
        # Delivered when the transaction commits; SQLite has no such thing (workers poll).
        if self.dialect == "postgresql":
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": channel, "payload": payload},
            )
