"""The embedded SQLite database shared by processes: a command run beside the server (say
``cronium users create``) never takes the server's database for unused."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from sqlalchemy import text

from cronium.storage.database import create_engine, migrate

OTHER_PROCESS = """
import asyncio, sys
from sqlalchemy import text
from cronium.storage.database import create_engine

async def main():
    engine = create_engine(sys.argv[1])
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO write_probes (id, written_at) VALUES (7, '2026-01-01')")
        )
    await engine.dispose()

asyncio.run(main())
"""


async def _other_process(url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_PROCESS, url, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()


async def test_another_process_closing_leaves_this_ones_log_in_place(tmp_path: Path) -> None:
    database = tmp_path / "cronium.db"
    url = f"sqlite+aiosqlite:///{database}"
    engine = create_engine(url)
    await migrate(engine)
    async with engine.connect() as connection:  # this process holds the database open
        await connection.execute(text("SELECT 1"))
        second = create_engine(url)  # as a worker's runtime API does, in the same process
        await second.dispose()
        await _other_process(url)
        assert (tmp_path / "cronium.db-wal").exists()  # not deleted under this process
        async with engine.begin() as writer:
            await writer.execute(text("UPDATE write_probes SET written_at = '2026-02-02'"))
        seen = await connection.execute(text("SELECT count(*) FROM write_probes WHERE id = 7"))
        assert seen.scalar() == 1  # the other process's row, in the same database
    await engine.dispose()
    query = "SELECT count(*) FROM write_probes WHERE written_at LIKE '2026-02-02%'"
    assert sqlite3.connect(database).execute(query).fetchone()[0] == 2  # this one's, on disk
