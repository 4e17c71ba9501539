"""Workers' named operations: register, heartbeat, stop, list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cronium.domain.worker import WorkerInfo
from cronium.storage.gateway import Gateway
from cronium.storage.tables import WorkerRow


class WorkerOperations(Gateway):
    async def register_worker(self, worker: WorkerInfo) -> None:
        """Record a worker that starts (or starts again under the same id)."""
        async with self._write() as session:
            row = await session.get(WorkerRow, worker.id)
            if row is None:
                row = WorkerRow(id=worker.id)
                session.add(row)
            row.host, row.pid, row.backend = worker.host, worker.pid, worker.backend
            row.tags, row.capacity, row.running = list(worker.tags), worker.capacity, 0
            row.started_at = row.last_heartbeat_at = worker.started_at
            row.stopped_at = None

    async def worker_heartbeat(self, worker_id: str, now: datetime, running: int) -> None:
        async with self._write() as session:
            row = await session.get(WorkerRow, worker_id)
            if row is not None:
                row.last_heartbeat_at, row.running = now, running

    async def stop_worker(self, worker_id: str, now: datetime) -> None:
        async with self._write() as session:
            row = await session.get(WorkerRow, worker_id)
            if row is not None:
                row.stopped_at, row.running = now, 0

    async def list_workers(self) -> list[WorkerInfo]:
        query = select(WorkerRow).order_by(WorkerRow.started_at.desc())
        async with self._read() as session:
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
