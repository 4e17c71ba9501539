"""Deliveries: each message sent through a tool, with its attempts, and the outbox.

A delivery is recorded before its first attempt. A pending one is due at ``due_at`` and held
by its sender until ``claimed_until``: a sender that dies lets it go when that passes, and
another sends it (a message may then go out twice, never zero times). Conditional actions'
deliveries are added in the transaction that ends their run, so none is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from cronium.domain.action import ToolCall
from cronium.domain.delivery import Delivery, DeliverySource, DeliveryStatus
from cronium.errors import NotFoundError
from cronium.storage.tables import DeliveryRow
from cronium.storage.transactions import Database, Unit

REPLY_MAX = 500


class Deliveries:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def add_pending(
        unit: Unit, owner_id: int, execution_id: int | None, call: ToolCall, now: datetime
    ) -> DeliveryRow:
        """A conditional action's message, due at once (in ``unit``: the run's end)."""
        row = DeliveryRow(
            owner_id=owner_id,
            execution_id=execution_id,
            tool=call.tool,
            action=call.action,
            source=str(DeliverySource.ACTION),
            params=call.params,
            status=str(DeliveryStatus.PENDING),
            created_at=now,
            due_at=now,
        )
        unit.session.add(row)
        return row

    async def start(
        self,
        owner_id: int,
        execution_id: int | None,
        call: ToolCall,
        source: DeliverySource,
        now: datetime,
        hold_for: timedelta,
    ) -> Delivery:
        """A delivery its caller sends now, held by it for ``hold_for``."""
        row = DeliveryRow(
            owner_id=owner_id,
            execution_id=execution_id,
            tool=call.tool,
            action=call.action,
            source=str(source),
            params=call.params,
            status=str(DeliveryStatus.PENDING),
            created_at=now,
            due_at=now,
            claimed_until=now + hold_for,
        )
        async with self.db.write() as unit:
            unit.session.add(row)
            await unit.session.flush()
        return delivery_of(row)

    async def claim_due(self, now: datetime, hold_for: timedelta, limit: int) -> list[Delivery]:
        """Pending deliveries due by ``now`` that nobody holds, now held until ``now +
        hold_for``; the oldest first. An empty outbox costs one read, no write."""
        due = (
            DeliveryRow.status == str(DeliveryStatus.PENDING),
            DeliveryRow.due_at <= now,
            or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now),
        )
        async with self.db.read() as session:
            if (await session.scalars(select(DeliveryRow.id).where(*due).limit(1))).first() is None:
                return []
        query = (
            select(DeliveryRow)
            .where(*due)
            .order_by(DeliveryRow.due_at, DeliveryRow.id)
            .limit(limit)
        )
        async with self.db.write() as unit:
            if unit.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(await unit.session.scalars(query))
            for row in rows:
                row.claimed_until = now + hold_for
        return [delivery_of(row) for row in rows]

    async def resolved(
        self, delivery_id: int, *, tool_id: int | None, kind: str | None, target: str
    ) -> None:
        """The tool a delivery goes through, once its name is resolved."""
        async with self.db.write() as unit:
            await unit.session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(tool_id=tool_id, kind=kind, target=target[:REPLY_MAX])
            )

    async def record(
        self,
        delivery_id: int,
        *,
        status: DeliveryStatus,
        attempts: int,
        started_at: datetime,
        now: datetime,
        code: int | None = None,
        reply: str | None = None,
        error: str | None = None,
        due_at: datetime | None = None,
    ) -> Delivery:
        """An attempt's outcome: sent, failed for good, or pending again until ``due_at``
        (let go by its sender)."""
        values: dict[str, Any] = {
            "status": str(status),
            "attempts": attempts,
            "code": code,
            "reply": None if reply is None else reply[:REPLY_MAX],
            "error": None if error is None else error[:2000],
            "due_at": due_at if status is DeliveryStatus.PENDING else None,
            "claimed_until": None,
            "finished_at": None if status is DeliveryStatus.PENDING else now,
        }
        async with self.db.write() as unit:
            row = await unit.session.get(DeliveryRow, delivery_id)
            if row is None:
                raise NotFoundError(f"delivery {delivery_id} is gone")
            for name, value in values.items():
                setattr(row, name, value)
            if row.first_attempt_at is None:
                row.first_attempt_at = started_at
        return delivery_of(row)

    async def for_execution(self, execution_id: int) -> list[Delivery]:
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.execution_id == execution_id)
            .order_by(DeliveryRow.id)
        )
        async with self.db.read() as session:
            return [delivery_of(row) for row in await session.scalars(query)]

    async def recent(self, owner_id: int, limit: int = 100) -> list[Delivery]:
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.owner_id == owner_id)
            .order_by(DeliveryRow.id.desc())
            .limit(limit)
        )
        async with self.db.read() as session:
            return [delivery_of(row) for row in await session.scalars(query)]


def delivery_of(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        owner_id=row.owner_id,
        execution_id=row.execution_id,
        tool_id=row.tool_id,
        tool=row.tool,
        kind=row.kind,
        action=row.action,
        source=DeliverySource(row.source),
        status=DeliveryStatus(row.status),
        target=row.target or "",
        attempts=row.attempts or 0,
        code=row.code,
        reply=row.reply,
        error=row.error,
        created_at=row.created_at,
        due_at=row.due_at,
        first_attempt_at=row.first_attempt_at,
        finished_at=row.finished_at,
        params=row.params,
    )


__all__: Sequence[str] = ["Deliveries", "delivery_of"]
