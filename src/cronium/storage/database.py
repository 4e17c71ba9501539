"""Engines and migrations: SQLite (WAL, foreign keys on) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
import stat
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cronium.errors import ConfigurationError, StorageError

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
WRITE_OPTION = "cronium_write"
READ_OPTION = "cronium_read"
MIGRATION_LOCK = 7_263_921_0


def normalise_url(url: str) -> str:
    """Accept plain ``sqlite://`` and ``postgresql://`` URLs by adding the async driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"database URL {url!r} cannot be parsed: {exc}") from exc
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}.get(
        parsed.drivername, parsed.drivername
    )
    if driver == "postgres":
        driver = "postgresql+asyncpg"
    if driver not in SUPPORTED_DRIVERS:
        raise ConfigurationError(
            f"database driver {parsed.drivername!r} is not supported: "
            "use sqlite:///path/to/file.db or postgresql://user:password@host/database"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; creates the SQLite file's directory if needed."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, parsed.database)
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


def private_directory(path: Path) -> None:
    """Make the directory ``path`` (0700 whatever the umask) if it does not exist yet."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        path.chmod(0o700)  # mkdir's mode went through the umask


def private_database_file(path: Path) -> None:
    """Make the SQLite file (and its directory) for the owner's eyes only, whatever the umask:
    the directory 0700 if made here, a new file 0600 before SQLite opens it (its -wal and -shm
    files take the file's mode).

    An existing file is never opened here: closing any descriptor of a file drops every POSIX
    lock this process holds on it, SQLite's included, and another process would then take the
    database for unused and delete the write-ahead log under this one's connections.
    """
    private_directory(path.parent)
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return  # made by another process meanwhile
        try:
            os.fchmod(descriptor, 0o600)  # a new file: ours to set (the umask applied)
        finally:
            os.close(descriptor)
        return
    if stat.S_ISLNK(found.st_mode):
        raise StorageError(f"{path} is a symbolic link: the database must be a regular file")


def _create_sqlite_engine(url: str, database: str | None) -> AsyncEngine:
    if database and database != ":memory:":
        private_database_file(Path(database))
    # Sessions end their own transactions (see _on_begin): a reset on return would only cost
    # one more trip to the driver's thread. Statement parameters never reach the logs.
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, pool_reset_on_return=None, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first
        # and writes later fails at once with SQLITE_BUSY when another writer got there before.
        options = connection.get_execution_options()
        if options.get(READ_OPTION, False):
            return  # a one-statement read needs no transaction: save two round trips
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")

    # Each call to the driver is a trip to its thread: a rollback with no transaction open
    # (after a read that began none) is a trip for nothing.
    dialect = engine.sync_engine.dialect
    rollback = dialect.do_rollback

    def rollback_if_open(dbapi_connection: Any) -> None:
        driver_connection = getattr(dbapi_connection, "_connection", dbapi_connection)
        if getattr(driver_connection, "in_transaction", True):
            rollback(dbapi_connection)

    dialect.do_rollback = rollback_if_open  # type: ignore[method-assign]
    return engine


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(files("cronium.storage") / "migrations"))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (default: the newest)."""

    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Several processes may start at once: one migrates, the others wait for it.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
