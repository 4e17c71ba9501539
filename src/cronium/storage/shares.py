"""Events (and workflows) shared with other users, as viewer or operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cronium.domain.event import Event
from cronium.domain.share import Share, ShareRole
from cronium.storage.rows import event_of
from cronium.storage.tables import EventRow, EventShareRow, UserRow
from cronium.storage.transactions import Database


def visible_to(user_id: int) -> ColumnElement[bool]:
    """Events the user owns or that are shared with them (a filter on EventRow)."""
    shared = select(EventShareRow.event_id).where(EventShareRow.user_id == user_id)
    return (EventRow.owner_id == user_id) | EventRow.id.in_(shared)


class Shares:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, event_id: int, user_id: int, role: ShareRole, now: datetime) -> None:
        """Share the event with the user as ``role`` (replacing an earlier share)."""
        values = {"event_id": event_id, "user_id": user_id, "role": role.value, "created_at": now}
        keys = [EventShareRow.event_id, EventShareRow.user_id]
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        statement = insert(EventShareRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={"role": role.value, "created_at": now}
        )
        async with self.db.write() as unit:
            await unit.session.execute(statement)

    async def remove(self, event_id: int, user_id: int) -> bool:
        async with self.db.write() as unit:
            result = await unit.session.execute(
                delete(EventShareRow).where(
                    EventShareRow.event_id == event_id, EventShareRow.user_id == user_id
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def of_event(self, event_id: int) -> list[Share]:
        query = (
            select(EventShareRow, UserRow.name)
            .join(UserRow, UserRow.id == EventShareRow.user_id)
            .where(EventShareRow.event_id == event_id)
            .order_by(UserRow.name)
        )
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
        return [
            Share(
                event_id=row.event_id,
                user_id=row.user_id,
                user_name=name,
                role=ShareRole(row.role),
                created_at=row.created_at,
            )
            for row, name in rows
        ]

    async def role_of(self, event_id: int, user_id: int) -> ShareRole | None:
        """How the event is shared with the user, if it is."""
        query = select(EventShareRow.role).where(
            EventShareRow.event_id == event_id, EventShareRow.user_id == user_id
        )
        async with self.db.read() as session:
            role = await session.scalar(query)
        return None if role is None else ShareRole(role)

    async def events_for(self, user_id: int) -> list[Event]:
        """The events shared with the user (not their own)."""
        shared = select(EventShareRow.event_id).where(EventShareRow.user_id == user_id)
        query = select(EventRow).where(EventRow.id.in_(shared)).order_by(EventRow.id)
        async with self.db.read() as session:
            return [event_of(row) for row in await session.scalars(query)]
