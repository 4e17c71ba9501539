"""Throwaway PostgreSQL databases for the benchmarks that take ``--postgres URL``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg


@contextlib.asynccontextmanager
async def postgres_database(server_url: str, name: str) -> AsyncIterator[str]:
    """A new database ``name`` on the server (superuser URL) for the time of the block; its
    URL. Dropped afterwards."""
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()
