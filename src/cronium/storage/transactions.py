"""The one database object every repository shares: sessions for reads, units of work for
writes, and the database's failures translated into :class:`StorageError`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cronium.errors import StorageError
from cronium.storage.database import READ_OPTION, WRITE_OPTION
from cronium.storage.tables import EventRow

# PostgreSQL notification channels: something was queued; a running execution was cancelled.
QUEUE_CHANNEL = "cronium_queue"
DELIVERY_CHANNEL = "cronium_deliveries"  # a delivery is due: its senders wake up
CANCEL_CHANNEL = "cronium_cancel"


def storage_error(exc: DBAPIError | OSError) -> StorageError:
    """The database's failure (gone, refusing connections, disk full...) as ours."""
    if isinstance(exc, DBAPIError):
        detail = getattr(exc.orig, "sqlite_errorname", "")
        return StorageError(f"the database failed: {exc.orig} {detail}".strip())
    return StorageError(f"the database could not be reached: {exc}")


class Unit:
    """One write transaction, handed from repository to repository when an operation spans
    several. It keeps the event rows it read (a session holds only weak references to what it
    loaded, so a row read and dropped would be read again)."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        self._events: dict[int, EventRow | None] = {}

    async def event(self, event_id: int) -> EventRow | None:
        """The event's row, read once per transaction; None if it does not exist."""
        if event_id not in self._events:
            self._events[event_id] = await self.session.get(EventRow, event_id)
        return self._events[event_id]

    async def events(self, event_ids: Iterable[int]) -> dict[int, EventRow]:
        """The rows of those of ``event_ids`` that exist, read in one statement."""
        wanted = list(dict.fromkeys(event_ids))
        missing = [event_id for event_id in wanted if event_id not in self._events]
        if missing:
            self._events.update(dict.fromkeys(missing))
            for row in await self.session.scalars(select(EventRow).where(EventRow.id.in_(missing))):
                self._events[row.id] = row
        return {key: found for key in wanted if (found := self._events[key]) is not None}

    async def notify(self, channel: str, payload: str = "") -> None:
        """Announce something to PostgreSQL listeners when the transaction commits (SQLite has
        no such thing: its workers poll)."""
        if self.dialect == "postgresql":
            await self.session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": channel, "payload": payload},
            )


class Database:
    """Sessions over one engine, shared by every repository of a process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue here, in order,
        # rather than in SQLite's busy handler, which sleeps longer and longer while it waits.
        self._write_turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
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
    async def write(self) -> AsyncIterator[Unit]:
        """A unit of work: one write transaction, committed when the block ends without an
        error, rolled back otherwise."""
        if self._write_turn is None:
            async with self._write_session() as unit:
                yield unit
            return
        async with self._write_turn, self._write_session() as unit:
            yield unit

    @asynccontextmanager
    async def _write_session(self) -> AsyncIterator[Unit]:
        async with self._sessions() as session:
            try:
                # Autobegins the transaction, as a write one (BEGIN IMMEDIATE on SQLite).
                await session.connection(execution_options={WRITE_OPTION: True})
                yield Unit(session, self.dialect)
                await session.commit()
            except IntegrityError:
                raise  # the operation's own business (a duplicate name, say)
            except (DBAPIError, OSError) as exc:
                raise storage_error(exc) from exc
