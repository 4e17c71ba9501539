"""The workers of a fleet: each registers, beats its heartbeat and stops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cronium.domain.worker import WorkerInfo
from cronium.storage.tables import WorkerRow
from cronium.storage.transactions import Database


class Workers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, worker: WorkerInfo) -> None:
        """Record a worker that starts (or starts again under the same id)."""
        async with self.db.write() as unit:
            row = await unit.session.get(WorkerRow, worker.id)
            if row is None:
                row = WorkerRow(id=worker.id)
                unit.session.add(row)
            row.host, row.pid, row.backend = worker.host, worker.pid, worker.backend
            row.tags, row.capacity, row.running = list(worker.tags), worker.capacity, 0
            row.started_at = row.last_heartbeat_at = worker.started_at
            row.stopped_at = None

    async def heartbeat(self, worker_id: str, now: datetime, running: int) -> None:
        async with self.db.write() as unit:
            row = await unit.session.get(WorkerRow, worker_id)
            if row is not None:
                row.last_heartbeat_at, row.running = now, running

    async def stop(self, worker_id: str, now: datetime) -> None:
        async with self.db.write() as unit:
            row = await unit.session.get(WorkerRow, worker_id)
            if row is not None:
                row.stopped_at, row.running = now, 0

    async def all(self) -> list[WorkerInfo]:
        query = select(WorkerRow).order_by(WorkerRow.started_at.desc())
        async with self.db.read() as session:
            return [
                WorkerInfo(
                    id=row.id,
                    host=row.host,
                    pid=row.pid,
                    backend=row.backend,
                    tags=tuple(row.tags),
                    capacity=row.capacity,
                    running=row.running,
                    started_at=row.started_at,
                    last_heartbeat_at=row.last_heartbeat_at,
                    stopped_at=row.stopped_at,
                )
                for row in await session.scalars(query)
            ]
