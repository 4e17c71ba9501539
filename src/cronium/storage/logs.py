"""The lines scripts write, stored in order with their stream and time."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select

from cronium.domain.execution import ExecutionStatus
from cronium.storage.executions import check_holder
from cronium.storage.notifications import Announced, announce, on_announce
from cronium.storage.tables import ExecutionRow, LogLineRow
from cronium.storage.transactions import Database, Unit

LOG_LINES = cast(Table, LogLineRow.__table__)  # its lines go in by Core: no ORM per line


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a script wrote, with its stream and the moment it arrived."""

    seq: int
    stream: str
    at: datetime
    line: str


@dataclass(frozen=True, slots=True)
class LogProgress:
    """How far an execution's log has come: its last line's seq (-1: none yet) and its
    status, with how it ended once it has."""

    last_seq: int
    status: ExecutionStatus
    exit_code: int | None = None
    signal: int | None = None
    error: str | None = None


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
        await announce(unit, execution_id, str(lines[-1].seq))


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

    async def tail(self, execution_id: int, count: int) -> list[LogLine]:
        """The last ``count`` lines, in order."""
        query = (
            select(LogLineRow.seq, LogLineRow.stream, LogLineRow.at, LogLineRow.line)
            .where(LogLineRow.execution_id == execution_id)
            .order_by(LogLineRow.seq.desc())
            .limit(count)
        )
        async with self.db.read() as session:
            rows = list(await session.execute(query))
        return [
            LogLine(seq=seq, stream=stream, at=at, line=line)
            for seq, stream, at, line in rows[::-1]
        ]

    async def progress(self, execution_ids: Collection[int]) -> dict[int, LogProgress]:
        """Where the logs of ``execution_ids`` are, in one statement; executions that do not
        exist (any more) are left out."""
        if not execution_ids:
            return {}
        last_seq = (
            select(func.max(LogLineRow.seq))
            .where(LogLineRow.execution_id == ExecutionRow.id)
            .scalar_subquery()
        )
        query = select(
            ExecutionRow.id,
            ExecutionRow.status,
            ExecutionRow.exit_code,
            ExecutionRow.signal,
            ExecutionRow.error,
            last_seq,
        ).where(ExecutionRow.id.in_(list(execution_ids)))
        async with self.db.read() as session:
            rows = await session.execute(query)
            return {
                ident: LogProgress(
                    last_seq=-1 if seq is None else seq,
                    status=ExecutionStatus(status),
                    exit_code=exit_code,
                    signal=signal,
                    error=error,
                )
                for ident, status, exit_code, signal, error, seq in rows
            }

    def on_stored(self, callback: Announced) -> Callable[[], None]:
        """Call ``callback(execution_id, last seq or "end")`` when this process has stored
        lines of an execution, or its end; the function that stops it."""
        return on_announce(self.db, callback)
