"""Users and their API tokens (only a token's hash is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from cronium.domain.user import ApiToken, Role, Scope, User
from cronium.errors import ConflictError, NotFoundError
from cronium.storage.rows import token_of, user_of
from cronium.storage.tables import ApiTokenRow, UserRow
from cronium.storage.transactions import Database


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def count(self) -> int:
        async with self.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)

    async def create(
        self, name: str, *, role: Role, now: datetime, password_hash: str | None = None
    ) -> User:
        row = UserRow(name=name, role=role.value, password_hash=password_hash, created_at=now)
        try:
            async with self.db.write() as unit:
                unit.session.add(row)
        except IntegrityError as exc:
            raise ConflictError(f"a user named {name!r} already exists") from exc
        return user_of(row)

    async def by_name(self, name: str) -> User:
        async with self.db.read() as session:
            row = await session.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFoundError(f"no user is named {name!r}")
        return user_of(row)


class Tokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        user_id: int,
        *,
        name: str,
        token_hash: str,
        prefix: str,
        now: datetime,
        expires_at: datetime | None,
        scopes: frozenset[Scope] = frozenset(Scope),
    ) -> ApiToken:
        row = ApiTokenRow(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            prefix=prefix,
            scopes=sorted(scope.value for scope in scopes),
            created_at=now,
            expires_at=expires_at,
        )
        async with self.db.write() as unit:
            unit.session.add(row)
        return token_of(row)

    async def find(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The token with this hash and its user, or None."""
        query = (
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(ApiTokenRow.token_hash == token_hash)
        )
        async with self.db.read() as session:
            found = (await session.execute(query)).one_or_none()
        return None if found is None else (token_of(found[0]), user_of(found[1]))

    async def touch(self, token_id: int, now: datetime) -> None:
        async with self.db.write() as unit:
            await unit.session.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now)
            )

    async def all(self, user_id: int) -> list[ApiToken]:
        query = select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id)
        async with self.db.read() as session:
            return [token_of(row) for row in await session.scalars(query)]

    async def revoke(self, user_id: int, token_id: int, now: datetime) -> ApiToken:
        async with self.db.write() as unit:
            row = await unit.session.get(ApiTokenRow, token_id)
            if row is None or row.user_id != user_id:
                raise NotFoundError(f"no API token has id {token_id}")
            if row.revoked_at is None:
                row.revoked_at = now
        return token_of(row)
