"""The lines scripts write, stored in order with their stream and time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select

from cronium.storage.executions import check_holder
from cronium.storage.tables import LogLineRow
from cronium.storage.transactions import Database, Unit

LOG_LINES = cast(Table, LogLineRow.__table__)  # its lines go in by Core: no ORM per line


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a script wrote, with its stream and the moment it arrived."""

    seq: int
    stream: str
    at: datetime
    line: str


async def insert_logs(unit: Unit, execution_id: int, lines: Sequence[LogLine]) -> None:
    """One multi-row INSERT of the table (executemany): no ORM object, no copy per line."""
    if lines:
        rows = [
            {
                "execution_id": execution_id,
                "seq": line.seq,
                "stream": line.stream,
                "at": line.at,
                "line": line.line,
            }
            for line in lines
        ]
        await unit.session.execute(insert(LOG_LINES), rows)


class Logs:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self, execution_id: int, lines: Sequence[LogLine], worker_id: str | None = None
    ) -> None:
        """Store output lines of an execution. With ``worker_id``, only while the execution
        runs on that worker: LeaseLostError otherwise (it was failed as lost, or taken over)."""
        if not lines:
            return
        async with self.db.write() as unit:
            if worker_id is not None:
                await check_holder(unit, (execution_id, worker_id))
            await insert_logs(unit, execution_id, lines)

    async def read(
        self, execution_id: int, *, after_seq: int = -1, limit: int | None = None
    ) -> list[LogLine]:
        """Lines after ``after_seq``, in order, at most ``limit`` of them (columns, not ORM
        objects: an execution may have a hundred thousand)."""
        query = (
            select(LogLineRow.seq, LogLineRow.stream, LogLineRow.at, LogLineRow.line)
            .where(LogLineRow.execution_id == execution_id, LogLineRow.seq > after_seq)
            .order_by(LogLineRow.seq)
            .limit(limit)
        )
        async with self.db.read() as session:
            rows = await session.execute(query)
            return [
                LogLine(seq=seq, stream=stream, at=at, line=line) for seq, stream, at, line in rows
            ]
