"""Users, their API tokens and browser sessions (only hashes of secrets are stored), and the
count of failed logins that backs off guessing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from cronium.domain.user import ApiToken, BrowserSession, Role, Scope, User
from cronium.errors import ConflictError, NotFoundError
from cronium.storage.rows import token_of, user_of
from cronium.storage.tables import ApiTokenRow, LoginFailureRow, SessionRow, UserRow
from cronium.storage.transactions import Database, Unit


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
        return user_of(await self._row_named(name))

    async def credentials(self, name: str) -> tuple[User, str | None] | None:
        """The user named ``name`` with their password hash, or None."""
        async with self.db.read() as session:
            row = await session.scalar(select(UserRow).where(UserRow.name == name))
        return None if row is None else (user_of(row), row.password_hash)

    async def get(self, user_id: int) -> User:
        async with self.db.read() as session:
            row = await session.get(UserRow, user_id)
        if row is None:
            raise NotFoundError(f"no user has id {user_id}")
        return user_of(row)

    async def all(self) -> list[User]:
        async with self.db.read() as session:
            return [user_of(row) for row in await session.scalars(select(UserRow).order_by("id"))]

    async def change(
        self,
        name: str,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        disabled_at: datetime | None = None,
        enable: bool = False,
        keep_an_admin: bool = True,
    ) -> User:
        """Change a user; with ``keep_an_admin``, ConflictError rather than leave no enabled
        administrator. Disabling ends the user's sessions in the same transaction."""
        async with self.db.write() as unit:
            row = await _row(unit, name)
            was_admin = row.role == Role.ADMIN.value and row.disabled_at is None
            if role is not None:
                row.role = role.value
            if password_hash is not None:
                row.password_hash = password_hash
            if disabled_at is not None:
                row.disabled_at = disabled_at
                await unit.session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            if enable:
                row.disabled_at = None
            if keep_an_admin and was_admin:
                await unit.session.flush()
                await _check_an_admin_is_left(unit)
        return user_of(row)

    async def delete(self, name: str) -> User:
        """Delete a user with everything they own; ConflictError if it is the last enabled
        administrator."""
        async with self.db.write() as unit:
            row = await _row(unit, name)
            user = user_of(row)
            await unit.session.delete(row)
            if user.is_admin:
                await unit.session.flush()
                await _check_an_admin_is_left(unit)
        return user

    async def _row_named(self, name: str) -> UserRow:
        async with self.db.read() as session:
            row = await session.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFoundError(f"no user is named {name!r}")
        return row


async def _row(unit: Unit, name: str) -> UserRow:
    row = await unit.session.scalar(select(UserRow).where(UserRow.name == name).with_for_update())
    if row is None:
        raise NotFoundError(f"no user is named {name!r}")
    return row


async def _check_an_admin_is_left(unit: Unit) -> None:
    admins = await unit.session.scalar(
        select(func.count())
        .select_from(UserRow)
        .where(UserRow.role == Role.ADMIN.value, UserRow.disabled_at.is_(None))
    )
    if not admins:
        raise ConflictError(
            "that would leave no enabled administrator: make another user an admin first"
        )


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


class Sessions:
    """Browser logins. A session is found by the hash of its cookie; it lapses after a time
    without use and after a longest time whatever the use."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        user_id: int,
        *,
        token_hash: str,
        csrf_hash: str,
        address: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        row = SessionRow(
            user_id=user_id,
            token_hash=token_hash,
            csrf_hash=csrf_hash,
            address=address,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        async with self.db.write() as unit:
            unit.session.add(row)

    async def find(self, token_hash: str) -> tuple[BrowserSession, User] | None:
        query = (
            select(SessionRow, UserRow)
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(SessionRow.token_hash == token_hash)
        )
        async with self.db.read() as session:
            found = (await session.execute(query)).one_or_none()
        if found is None:
            return None
        row = found[0]
        record = BrowserSession(
            id=row.id,
            csrf_hash=row.csrf_hash,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
        )
        return record, user_of(found[1])

    async def touch(self, session_id: int, now: datetime) -> None:
        async with self.db.write() as unit:
            await unit.session.execute(
                update(SessionRow).where(SessionRow.id == session_id).values(last_seen_at=now)
            )

    async def end(self, token_hash: str) -> int | None:
        """Delete the session; its user's id, or None if there was none."""
        async with self.db.write() as unit:
            result = await unit.session.execute(
                delete(SessionRow)
                .where(SessionRow.token_hash == token_hash)
                .returning(SessionRow.user_id)
            )
            found = result.first()
        return None if found is None else int(found[0])

    async def prune(self, now: datetime, idle: timedelta) -> int:
        """Delete sessions that have lapsed; how many."""
        async with self.db.write() as unit:
            result = await unit.session.execute(
                delete(SessionRow).where(
                    (SessionRow.expires_at <= now) | (SessionRow.last_seen_at <= now - idle)
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]


class LoginFailures:
    """Failed logins in a row, by ``kind`` (``user``: per account name; ``address``: per
    client address) and key."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def blocked_until(self, keys: list[tuple[str, str]], now: datetime) -> datetime | None:
        """The latest time until which any of ``keys`` must wait, if later than ``now``."""
        if not keys:
            return None
        async with self.db.read() as session:
            times = await session.scalars(
                select(LoginFailureRow.blocked_until).where(
                    _any_of(keys), LoginFailureRow.blocked_until > now
                )
            )
            latest = [t for t in times if t is not None]
        return max(latest) if latest else None

    async def fail(
        self, keys: list[tuple[str, str]], now: datetime, *, allowed: int, window: timedelta
    ) -> None:
        """Count a failure for each key; past ``allowed`` failures in a row, block further
        tries for 1 s, doubling each time up to 15 minutes. A key whose last failure is older
        than ``window`` starts again from one."""
        async with self.db.write() as unit:
            for kind, key in keys:
                row = await unit.session.scalar(
                    select(LoginFailureRow).where(
                        LoginFailureRow.kind == kind, LoginFailureRow.key == key
                    )
                )
                if row is None:
                    row = LoginFailureRow(kind=kind, key=key, failures=0, last_failure_at=now)
                    unit.session.add(row)
                elif row.last_failure_at <= now - window:
                    row.failures = 0
                row.failures += 1
                row.last_failure_at = now
                over = row.failures - allowed  # 0: the last allowed failure
                if over >= 0:
                    row.blocked_until = now + timedelta(seconds=min(2**over, 900))

    async def clear(self, keys: list[tuple[str, str]]) -> None:
        async with self.db.write() as unit:
            await unit.session.execute(delete(LoginFailureRow).where(_any_of(keys)))

    async def prune(self, before: datetime) -> int:
        async with self.db.write() as unit:
            result = await unit.session.execute(
                delete(LoginFailureRow).where(LoginFailureRow.last_failure_at < before)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _any_of(keys: list[tuple[str, str]]) -> ColumnElement[bool]:
    return or_(*(and_(LoginFailureRow.kind == k, LoginFailureRow.key == v) for k, v in keys))
