"""The storage facade: every query Cronium makes is a named operation of one repository.

Routes, CLI commands, the scheduler and the worker reach the repositories through one
:class:`Store` (``store.events.get(...)``, ``store.queue.claim(...)``) and get domain objects
back; nobody else builds a query. Each operation is one transaction, so nothing is ever
half-written; an operation that spans several repositories passes its unit of work
(``transactions.Unit``) between them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from cronium.crypto import Keyring
from cronium.storage import notifications
from cronium.storage.audit import Audit
from cronium.storage.deliveries import Deliveries
from cronium.storage.events import Events
from cronium.storage.executions import Executions
from cronium.storage.logs import Logs
from cronium.storage.queue import Queue
from cronium.storage.retention import Retention
from cronium.storage.runs import Runs
from cronium.storage.schedules import Schedules
from cronium.storage.shares import Shares
from cronium.storage.tables import WriteProbeRow
from cronium.storage.tools import Tools
from cronium.storage.transactions import Database
from cronium.storage.users import LoginFailures, Sessions, Tokens, Users
from cronium.storage.variables import Variables
from cronium.storage.workers import Workers
from cronium.supervision import LoopHealth


class Store:
    """The repositories over one database. One instance per process, shared by all tasks."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring | None = None) -> None:
        """``keyring`` encrypts and decrypts secrets; without one, secrets cannot be read or
        written (a clear error says so)."""
        self.engine = engine
        self.keyring = keyring
        self.db = Database(engine)
        self.audit = Audit(self.db)
        self.users = Users(self.db)
        self.tokens = Tokens(self.db)
        self.sessions = Sessions(self.db)
        self.login_failures = LoginFailures(self.db)
        self.shares = Shares(self.db)
        self.events = Events(self.db)
        self.executions = Executions(self.db)
        self.queue = Queue(self.db)
        self.runs = Runs(self.db)
        self.schedules = Schedules(self.db)
        self.variables = Variables(self.db, keyring)
        self.logs = Logs(self.db)
        self.workers = Workers(self.db)
        self.retention = Retention(self.db)
        self.tools = Tools(self.db, keyring)
        self.deliveries = Deliveries(self.db)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.db.dialect

    async def probe_writes(self, now: datetime) -> None:
        """Rewrite one row: StorageError if the database takes no writes (a full disk, a
        read-only file, a standby)."""
        async with self.db.write() as unit:
            await unit.session.execute(
                update(WriteProbeRow).where(WriteProbeRow.id == 1).values(written_at=now)
            )

    def listen(
        self,
        channels: Collection[str],
        on_notify: Callable[[str, str], None],
        health: LoopHealth | None = None,
    ) -> AbstractAsyncContextManager[bool]:
        """See :func:`notifications.listen`."""
        return notifications.listen(self.db, channels, on_notify, health)
