"""Each owner's variables: JSON values by key, the last write wins.

A secret's value is kept only encrypted (``ciphertext``, bound to its owner and key); its
``value`` column is NULL. An expired variable reads as missing; :meth:`Variables.prune_expired`
deletes the expired rows in bounded batches. A write is checked against the stored schema in
the transaction that writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.exc import IntegrityError

from cronium.crypto import Keyring, key_id_of
from cronium.domain.audit import AuditAction
from cronium.domain.variable import (
    UNCHANGED,
    Variable,
    VariableChange,
    as_text,
    check_value,
)
from cronium.errors import NotAvailableError
from cronium.storage.audit import Audit
from cronium.storage.executions import Holder, check_holder
from cronium.storage.tables import VariableRow
from cronium.storage.transactions import Database, Unit

PRUNE_BATCH = 1000
NO_KEY = (
    "secrets are not available: this process has no secret key (CRONIUM_SECRET_KEY or "
    "CRONIUM_SECRET_KEY_FILE)"
)


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes or deletes a variable, for the audit log: a user, or a user's script
    (``execution_id``)."""

    user_id: int
    name: str | None = None
    execution_id: int | None = None


def context_of(owner_id: int, key: str) -> str:
    """What a secret's ciphertext is bound to: moved to another row, it does not decrypt."""
    return f"variable:{owner_id}:{key}"


class Variables:
    def __init__(self, db: Database, keyring: Keyring | None = None) -> None:
        self.db = db
        self.keyring = keyring
        self._audit = Audit(db)

    async def get(self, owner_id: int, key: str, now: datetime | None = None) -> tuple[bool, Any]:
        """(found, value) of one unexpired variable, a secret's value decrypted."""
        found = await self.find(owner_id, key, now or datetime.now(UTC), reveal=True)
        return (False, None) if found is None else (True, found.value)

    async def find(
        self, owner_id: int, key: str, now: datetime, *, reveal: bool = False
    ) -> Variable | None:
        """One unexpired variable of the owner, or None. A secret's value is None unless
        ``reveal`` (then it is decrypted: the caller audits why)."""
        query = select(VariableRow).where(
            VariableRow.owner_id == owner_id, VariableRow.key == key, _unexpired(now)
        )
        async with self.db.read() as session:
            row = (await session.scalars(query)).one_or_none()
        return None if row is None else self._variable_of(row, reveal=reveal)

    async def list(self, owner_id: int, now: datetime) -> list[Variable]:
        """The owner's unexpired variables by key; secrets without their values."""
        query = (
            select(VariableRow)
            .where(VariableRow.owner_id == owner_id, _unexpired(now))
            .order_by(VariableRow.key)
        )
        async with self.db.read() as session:
            return [self._variable_of(row, reveal=False) for row in await session.scalars(query)]

    async def all(self, owner_id: int, now: datetime | None = None) -> dict[str, Any]:
        """The owner's unexpired plain variables' values by key (no secrets)."""
        listed = await self.list(owner_id, now or datetime.now(UTC))
        return {v.key: v.value for v in listed if not v.secret}

    async def secret_values(self, owner_id: int, now: datetime) -> dict[str, str]:
        """Every unexpired secret of the owner, decrypted, as the text a script would print
        (a JSON string as itself, any other value as JSON)."""
        query = select(VariableRow).where(
            VariableRow.owner_id == owner_id, VariableRow.secret.is_(True), _unexpired(now)
        )
        async with self.db.read() as session:
            rows = list(await session.scalars(query))
        return {row.key: as_text(self._decrypted(row)) for row in rows}

    async def put(
        self, owner_id: int, key: str, value: Any, now: datetime, held_by: Holder | None = None
    ) -> None:
        """Set a variable's value, its description, schema, secrecy and expiry as stored (see
        :meth:`write`)."""
        await self.write(owner_id, key, VariableChange(value=value), now, held_by=held_by)

    async def write(
        self,
        owner_id: int,
        key: str,
        change: VariableChange,
        now: datetime,
        *,
        writer: Writer | None = None,
        held_by: Holder | None = None,
    ) -> Variable:
        """Create or replace a variable (fields the change leaves UNCHANGED keep their stored
        value; an expired variable counts as absent). The value is checked against the
        resulting schema first: InvalidInputError and nothing written if it fails. With
        ``held_by`` (an execution and its worker), only while that execution runs on that
        worker (LeaseLostError). A write to a secret is audited as ``writer``'s."""
        try:
            return await self._put(owner_id, key, change, now, writer, held_by)
        except IntegrityError:  # PostgreSQL: another transaction created the key meanwhile
            return await self._put(owner_id, key, change, now, writer, held_by)

    async def _put(
        self,
        owner_id: int,
        key: str,
        change: VariableChange,
        now: datetime,
        writer: Writer | None,
        held_by: Holder | None,
    ) -> Variable:
        async with self.db.write() as unit:
            await check_holder(unit, held_by)
            row = await self._row_for_update(unit, owner_id, key)
            was_secret = row is not None and row.secret and not _expired(row, now)
            if row is not None and _expired(row, now):
                await unit.session.delete(row)
                await unit.session.flush()
                row = None
            row = row or VariableRow(owner_id=owner_id, key=key, description="", secret=False)
            self._apply(row, change, now)
            unit.session.add(row)
            if (was_secret or row.secret) and writer is not None:
                await self._record(unit, AuditAction.SECRET_WRITE, owner_id, key, now, writer)
            written = self._variable_of(row, reveal=False)
        return written

    async def delete(
        self,
        owner_id: int,
        key: str,
        now: datetime,
        *,
        writer: Writer | None = None,
        held_by: Holder | None = None,
    ) -> bool:
        """Delete an unexpired variable; whether there was one. ``held_by`` as for
        :meth:`write`; deleting a secret is audited as ``writer``'s."""
        async with self.db.write() as unit:
            await check_holder(unit, held_by)
            row = await self._row_for_update(unit, owner_id, key)
            if row is None:
                return False
            await unit.session.delete(row)
            if _expired(row, now):
                return False
            if row.secret and writer is not None:
                await self._record(unit, AuditAction.SECRET_DELETE, owner_id, key, now, writer)
        return True

    async def prune_expired(self, now: datetime, batch: int = PRUNE_BATCH) -> int:
        """Delete up to ``batch`` variables expired by ``now``; how many went."""
        expired = (
            select(VariableRow.id)
            .where(VariableRow.expires_at.is_not(None), VariableRow.expires_at <= now)
            .order_by(VariableRow.expires_at)
            .limit(batch)
        )
        async with self.db.write() as unit:
            result = await unit.session.execute(
                delete(VariableRow).where(VariableRow.id.in_(expired))
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def key_ids(self) -> set[str]:
        """The ids of the keys the stored ciphertexts were made with."""
        query = select(VariableRow.ciphertext).where(VariableRow.ciphertext.is_not(None))
        async with self.db.read() as session:
            return {key_id_of(text) for text in await session.scalars(query) if text}

    async def reencrypt(self, unit: Unit, old: Keyring, new: Keyring) -> int:
        """Re-encrypt in ``unit`` every ciphertext not yet under ``new``'s key (decrypting
        with ``old``, which holds the previous key); how many were rewritten."""
        rows = await unit.session.scalars(
            select(VariableRow).where(VariableRow.ciphertext.is_not(None))
        )
        count = 0
        for row in rows:
            assert row.ciphertext is not None
            if key_id_of(row.ciphertext) == new.key_id:
                continue  # done by a rotation that was interrupted
            context = context_of(row.owner_id, row.key)
            plain = old.decrypt(row.ciphertext, context=context)
            row.ciphertext = new.encrypt(plain, context=context)
            count += 1
        return count

    # -- helpers

    async def _row_for_update(self, unit: Unit, owner_id: int, key: str) -> VariableRow | None:
        query = select(VariableRow).where(VariableRow.owner_id == owner_id, VariableRow.key == key)
        if unit.dialect == "postgresql":
            query = query.with_for_update()
        return (await unit.session.scalars(query)).one_or_none()

    def _apply(self, row: VariableRow, change: VariableChange, now: datetime) -> None:
        """Fill ``row`` from ``change``: checked first, so a failure leaves the row as read
        (the transaction is rolled back anyway)."""
        schema = row.json_schema if change.schema is UNCHANGED else change.schema
        secret = row.secret if change.secret is UNCHANGED else change.secret
        check_value(row.key, change.value, schema)
        ciphertext = None
        if secret:
            plain = json.dumps(change.value, separators=(",", ":"))
            ciphertext = self._keyring().encrypt(plain, context=context_of(row.owner_id, row.key))
        row.json_schema = schema
        row.secret = secret
        row.value = None if secret else change.value
        row.ciphertext = ciphertext
        row.updated_at = now
        if change.description is not UNCHANGED:
            row.description = change.description
        if change.expires_at is not UNCHANGED:
            row.expires_at = change.expires_at

    def _variable_of(self, row: VariableRow, *, reveal: bool) -> Variable:
        shown = reveal and row.secret
        return Variable(
            key=row.key,
            value=self._decrypted(row) if shown else (None if row.secret else row.value),
            description=row.description or "",
            expires_at=row.expires_at,
            schema=row.json_schema,
            secret=bool(row.secret),
            updated_at=row.updated_at,
            revealed=shown,
        )

    def _decrypted(self, row: VariableRow) -> Any:
        if not row.secret:
            return row.value
        assert row.ciphertext is not None, "a secret is stored as a ciphertext"
        plain = self._keyring().decrypt(row.ciphertext, context=context_of(row.owner_id, row.key))
        return json.loads(plain)

    def _keyring(self) -> Keyring:
        if self.keyring is None:
            raise NotAvailableError(NO_KEY)
        return self.keyring

    async def _record(
        self, unit: Unit, action: AuditAction, owner_id: int, key: str, now: datetime, by: Writer
    ) -> None:
        await self._audit.record(
            action,
            at=now,
            actor_id=by.user_id,
            actor=by.name,
            target=f"variable:{owner_id}:{key}",
            execution_id=by.execution_id,
            unit=unit,
        )


def _unexpired(now: datetime) -> ColumnElement[bool]:
    return or_(VariableRow.expires_at.is_(None), VariableRow.expires_at > now)


def _expired(row: VariableRow, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at <= now
