"""Each owner's variables: JSON values by key, the last write wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Executable, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cronium.storage.executions import Holder, check_holder
from cronium.storage.tables import VariableRow
from cronium.storage.transactions import Database


class Variables:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, owner_id: int, key: str) -> tuple[bool, Any]:
        """(found, value) of one of the owner's variables."""
        query = select(VariableRow.value).where(
            VariableRow.owner_id == owner_id, VariableRow.key == key
        )
        async with self.db.read() as session:
            found = (await session.execute(query)).one_or_none()
        return (False, None) if found is None else (True, found[0])

    async def put(
        self, owner_id: int, key: str, value: Any, now: datetime, held_by: Holder | None = None
    ) -> None:
        """Create or replace a variable. With ``held_by`` (an execution and its worker), only
        while that execution runs on that worker (LeaseLostError)."""
        values = {"owner_id": owner_id, "key": key, "value": value, "updated_at": now}
        keys = [VariableRow.owner_id, VariableRow.key]
        statement: Executable
        if self.db.dialect == "postgresql":
            pg = pg_insert(VariableRow).values(**values)
            statement = pg.on_conflict_do_update(
                index_elements=keys, set_={"value": pg.excluded.value, "updated_at": now}
            )
        else:
            lite = sqlite_insert(VariableRow).values(**values)
            statement = lite.on_conflict_do_update(
                index_elements=keys, set_={"value": lite.excluded.value, "updated_at": now}
            )
        async with self.db.write() as unit:
            await check_holder(unit, held_by)
            await unit.session.execute(statement)

    async def delete(self, owner_id: int, key: str, held_by: Holder | None = None) -> bool:
        """Delete a variable; whether it existed. ``held_by`` as for :meth:`put`."""
        async with self.db.write() as unit:
            await check_holder(unit, held_by)
            result = await unit.session.execute(
                delete(VariableRow).where(VariableRow.owner_id == owner_id, VariableRow.key == key)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def all(self, owner_id: int) -> dict[str, Any]:
        query = (
            select(VariableRow.key, VariableRow.value)
            .where(VariableRow.owner_id == owner_id)
            .order_by(VariableRow.key)
        )
        async with self.db.read() as session:
            return {key: value for key, value in (await session.execute(query)).all()}
