"""Each user's tools: credentials for a service, kept only encrypted (bound to the owner and
the tool's name), read decrypted only where a message is sent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from cronium.crypto import Keyring, key_id_of
from cronium.domain.delivery import Tool
from cronium.domain.tool import ToolKind, credentials_summary
from cronium.errors import ConflictError, NotAvailableError, NotFoundError
from cronium.storage.tables import ToolRow
from cronium.storage.transactions import Database, Unit

NO_KEY = (
    "tools are not available: this process has no secret key to keep their credentials with "
    "(CRONIUM_SECRET_KEY or CRONIUM_SECRET_KEY_FILE)"
)


def context_of(owner_id: int, name: str) -> str:
    """What a tool's ciphertext is bound to: moved to another row, it does not decrypt."""
    return f"tool:{owner_id}:{name}"


class Tools:
    def __init__(self, db: Database, keyring: Keyring | None = None) -> None:
        self.db = db
        self.keyring = keyring

    async def create(
        self,
        owner_id: int,
        name: str,
        kind: ToolKind,
        credentials: dict[str, Any],
        now: datetime,
        description: str = "",
    ) -> Tool:
        row = ToolRow(
            owner_id=owner_id,
            name=name,
            kind=str(kind),
            description=description,
            ciphertext=self._seal(owner_id, name, credentials),
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.db.write() as unit:
                unit.session.add(row)
                await unit.session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"you already have a tool named {name!r}: delete it first or choose another name"
            ) from exc
        return self._tool_of(row, reveal=False)

    async def replace(
        self, owner_id: int, name: str, credentials: dict[str, Any], now: datetime
    ) -> Tool:
        """New credentials for an existing tool (its kind stays)."""
        async with self.db.write() as unit:
            row = await self._row(unit, owner_id, name)
            row.ciphertext = self._seal(owner_id, name, credentials)
            row.updated_at = now
        return self._tool_of(row, reveal=False)

    async def owned(self, owner_id: int) -> list[Tool]:
        query = select(ToolRow).where(ToolRow.owner_id == owner_id).order_by(ToolRow.name)
        async with self.db.read() as session:
            return [self._tool_of(row, reveal=False) for row in await session.scalars(query)]

    async def find(self, owner_id: int, name: str, *, reveal: bool = False) -> Tool | None:
        """The owner's tool named ``name``, or None; its credentials decrypted if ``reveal``."""
        query = select(ToolRow).where(ToolRow.owner_id == owner_id, ToolRow.name == name)
        async with self.db.read() as session:
            row = (await session.scalars(query)).one_or_none()
        return None if row is None else self._tool_of(row, reveal=reveal)

    async def of_kind(self, owner_id: int, kind: ToolKind, *, reveal: bool = False) -> list[Tool]:
        """The owner's tools of ``kind``, their credentials decrypted if ``reveal``."""
        query = (
            select(ToolRow)
            .where(ToolRow.owner_id == owner_id, ToolRow.kind == str(kind))
            .order_by(ToolRow.name)
        )
        async with self.db.read() as session:
            return [self._tool_of(row, reveal=reveal) for row in await session.scalars(query)]

    async def delete(self, owner_id: int, name: str) -> bool:
        async with self.db.write() as unit:
            result = await unit.session.execute(
                delete(ToolRow).where(ToolRow.owner_id == owner_id, ToolRow.name == name)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def key_ids(self) -> set[str]:
        """The ids of the keys the stored ciphertexts were made with."""
        async with self.db.read() as session:
            return {key_id_of(text) for text in await session.scalars(select(ToolRow.ciphertext))}

    async def reencrypt(self, unit: Unit, old: Keyring, new: Keyring) -> int:
        """Re-encrypt in ``unit`` every ciphertext not yet under ``new``'s key."""
        count = 0
        for row in await unit.session.scalars(select(ToolRow)):
            if key_id_of(row.ciphertext) == new.key_id:
                continue
            context = context_of(row.owner_id, row.name)
            row.ciphertext = new.encrypt(
                old.decrypt(row.ciphertext, context=context), context=context
            )
            count += 1
        return count

    # -- helpers

    async def _row(self, unit: Unit, owner_id: int, name: str) -> ToolRow:
        query = select(ToolRow).where(ToolRow.owner_id == owner_id, ToolRow.name == name)
        row = (await unit.session.scalars(query)).one_or_none()
        if row is None:
            raise NotFoundError(f"you have no tool named {name!r} (see cronium tools list)")
        return row

    def _seal(self, owner_id: int, name: str, credentials: dict[str, Any]) -> str:
        plain = json.dumps(credentials, separators=(",", ":"))
        return self._keyring().encrypt(plain, context=context_of(owner_id, name))

    def _tool_of(self, row: ToolRow, *, reveal: bool) -> Tool:
        plain = self._keyring().decrypt(row.ciphertext, context=context_of(row.owner_id, row.name))
        credentials = json.loads(plain)
        return Tool(
            id=row.id,
            owner_id=row.owner_id,
            name=row.name,
            kind=row.kind,
            description=row.description or "",
            summary=credentials_summary(ToolKind(row.kind), credentials),
            created_at=row.created_at,
            updated_at=row.updated_at,
            credentials=credentials if reveal else None,
        )

    def _keyring(self) -> Keyring:
        if self.keyring is None:
            raise NotAvailableError(NO_KEY)
        return self.keyring
