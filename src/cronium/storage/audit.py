"""The audit log: appended to by the service layer and the runtime API, read by admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from cronium.domain.audit import AuditEntry, client_address
from cronium.storage.tables import AuditRow
from cronium.storage.transactions import Database, Unit

PRUNE_BATCH = 1000


class Audit:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        action: str,
        *,
        at: datetime,
        actor_id: int | None = None,
        actor: str | None = None,
        target: str | None = None,
        execution_id: int | None = None,
        detail: dict[str, Any] | None = None,
        address: str | None = None,
        unit: Unit | None = None,
    ) -> None:
        """Append one entry; in ``unit`` when given (it lands with the action or not at all).
        The address defaults to the client address of the request being served."""
        row = AuditRow(
            at=at,
            actor_id=actor_id,
            actor=actor,
            action=str(action),
            target=None if target is None else target[:255],
            address=address if address is not None else client_address.get(),
            execution_id=execution_id,
            detail=detail,
        )
        if unit is not None:
            unit.session.add(row)
            return
        async with self.db.write() as own:
            own.session.add(row)

    async def find(
        self,
        *,
        actor_id: int | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest entries first, filtered; ``before_id`` pages back."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if actor_id is not None:
            query = query.where(AuditRow.actor_id == actor_id)
        if action is not None:
            query = query.where(AuditRow.action == action)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if until is not None:
            query = query.where(AuditRow.at < until)
        if before_id is not None:
            query = query.where(AuditRow.id < before_id)
        async with self.db.read() as session:
            return [_entry_of(row) for row in await session.scalars(query)]

    async def prune(self, before: datetime, batch: int = PRUNE_BATCH) -> int:
        """Delete up to ``batch`` entries older than ``before``; how many went."""
        oldest = select(AuditRow.id).where(AuditRow.at < before).order_by(AuditRow.id).limit(batch)
        async with self.db.write() as unit:
            result = await unit.session.execute(delete(AuditRow).where(AuditRow.id.in_(oldest)))
        return int(result.rowcount)  # type: ignore[attr-defined]


def _entry_of(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        actor=row.actor,
        action=row.action,
        target=row.target,
        address=row.address,
        execution_id=row.execution_id,
        detail=row.detail,
    )
