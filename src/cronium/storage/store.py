"""The storage gateway: every query Cronium makes is a named operation here.

Routes, CLI commands and the worker call these methods and get domain objects back; nobody else
builds a query. Each operation is one transaction, so nothing is ever half-written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cronium.domain.event import Event, Language, Network, ResourceLimits
from cronium.domain.execution import Execution, ExecutionStatus, check_transition
from cronium.domain.user import ApiToken, User
from cronium.errors import ConflictError, NotFoundError, StorageError
from cronium.storage.database import READ_OPTION, WRITE_OPTION
from cronium.storage.tables import (
    ApiTokenRow,
    EventRow,
    ExecutionRow,
    LogLineRow,
    UserRow,
    VariableRow,
)


@dataclass(frozen=True, slots=True)
class EventFields:
    """Everything needed to create a script event."""

    name: str
    language: Language
    script: str
    env: dict[str, str]
    limits: ResourceLimits
    network: Network = "none"


@dataclass(frozen=True, slots=True)
class EventChanges:
    """A partial update of an event: None leaves a field as it is."""

    name: str | None = None
    language: Language | None = None
    script: str | None = None
    env: dict[str, str] | None = None
    limits: ResourceLimits | None = None
    network: Network | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a script wrote, with its stream and the moment it arrived."""

    seq: int
    stream: str
    at: datetime
    line: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a finished sandbox run leaves on its execution."""

    status: ExecutionStatus
    finished_at: datetime
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    oom_killed: bool = False
    error: str | None = None
    setup_seconds: float | None = None
    run_seconds: float | None = None
    cleanup_seconds: float | None = None
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None


class Store:
    """Named operations over the database. One instance per process, shared by all tasks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        """A session for one read statement (on SQLite it runs without BEGIN: fewer trips)."""
        async with self._sessions() as session:
            try:
                await session.connection(execution_options={READ_OPTION: True})
                yield session
            except OperationalError as exc:
                detail = getattr(exc.orig, "sqlite_errorname", "")
                raise StorageError(f"the database failed: {exc.orig} {detail}".strip()) from exc

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                # Autobegins the transaction, as a write one (BEGIN IMMEDIATE on SQLite).
                await session.connection(execution_options={WRITE_OPTION: True})
                yield session
                await session.commit()
            except OperationalError as exc:
                detail = getattr(exc.orig, "sqlite_errorname", "")
                raise StorageError(f"the database failed: {exc.orig} {detail}".strip()) from exc

    # users and tokens

    async def count_users(self) -> int:
        async with self._read() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)

    async def create_user(self, name: str, *, is_admin: bool, now: datetime) -> User:
        row = UserRow(name=name, is_admin=is_admin, created_at=now)
        try:
            async with self._write() as session:
                session.add(row)
        except IntegrityError as exc:
            raise ConflictError(f"a user named {name!r} already exists") from exc
        return _user(row)

    async def get_user_by_name(self, name: str) -> User:
        async with self._read() as session:
            row = await session.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFoundError(f"no user is named {name!r}")
        return _user(row)

    async def create_token(
        self,
        user_id: int,
        *,
        name: str,
        token_hash: str,
        prefix: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiToken:
        row = ApiTokenRow(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            prefix=prefix,
            created_at=now,
            expires_at=expires_at,
        )
        async with self._write() as session:
            session.add(row)
        return _token(row)

    async def find_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The token with this hash and its user, or None."""
        query = (
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(ApiTokenRow.token_hash == token_hash)
        )
        async with self._read() as session:
            found = (await session.execute(query)).one_or_none()
        return None if found is None else (_token(found[0]), _user(found[1]))

    async def touch_token(self, token_id: int, now: datetime) -> None:
        async with self._write() as session:
            await session.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now)
            )

    async def list_tokens(self, user_id: int) -> list[ApiToken]:
        query = select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id)
        async with self._read() as session:
            return [_token(row) for row in await session.scalars(query)]

    async def revoke_token(self, user_id: int, token_id: int, now: datetime) -> ApiToken:
        async with self._write() as session:
            row = await session.get(ApiTokenRow, token_id)
            if row is None or row.user_id != user_id:
                raise NotFoundError(f"no API token has id {token_id}")
            if row.revoked_at is None:
                row.revoked_at = now
        return _token(row)

    # events

    async def create_event(self, owner_id: int, fields: EventFields, now: datetime) -> Event:
        row = EventRow(owner_id=owner_id, created_at=now, updated_at=now)
        _apply_event_fields(row, asdict_shallow(fields))
        try:
            async with self._write() as session:
                session.add(row)
        except IntegrityError as exc:
            raise ConflictError(f"an event named {fields.name!r} already exists") from exc
        return _event(row)

    async def get_event(self, event_id: int) -> Event:
        async with self._read() as session:
            row = await session.get(EventRow, event_id)
        if row is None:
            raise NotFoundError(f"no event has id {event_id}")
        return _event(row)

    async def list_events(self, owner_id: int | None) -> list[Event]:
        """Events of one owner, or of everyone when ``owner_id`` is None."""
        query = select(EventRow).order_by(EventRow.id)
        if owner_id is not None:
            query = query.where(EventRow.owner_id == owner_id)
        async with self._read() as session:
            return [_event(row) for row in await session.scalars(query)]

    async def update_event(self, event_id: int, changes: EventChanges, now: datetime) -> Event:
        values = {k: v for k, v in asdict_shallow(changes).items() if v is not None}
        try:
            async with self._write() as session:
                row = await session.get(EventRow, event_id)
                if row is None:
                    raise NotFoundError(f"no event has id {event_id}")
                _apply_event_fields(row, values)
                row.updated_at = now
        except IntegrityError as exc:
            raise ConflictError(f"an event named {changes.name!r} already exists") from exc
        return _event(row)

    async def delete_event(self, event_id: int) -> None:
        """Delete an event with its executions and logs; refused while one of them runs."""
        async with self._write() as session:
            row = await session.get(EventRow, event_id)
            if row is None:
                raise NotFoundError(f"no event has id {event_id}")
            running = await session.scalar(
                select(func.count())
                .select_from(ExecutionRow)
                .where(
                    ExecutionRow.event_id == event_id,
                    ExecutionRow.status == ExecutionStatus.RUNNING,
                )
            )
            if running:
                raise ConflictError(
                    f"event {event_id} has {running} running execution(s): "
                    "wait for them to end before deleting it"
                )
            await session.delete(row)

    # executions

    async def enqueue(
        self, event_id: int, *, input: Any, now: datetime, priority: int = 0, attempt: int = 1
    ) -> Execution:
        row = ExecutionRow(
            event_id=event_id,
            status=ExecutionStatus.QUEUED,
            attempt=attempt,
            priority=priority,
            trigger="manual",
            input=input,
            queued_at=now,
            timed_out=False,
            oom_killed=False,
        )
        try:
            async with self._write() as session:
                session.add(row)
        except IntegrityError as exc:
            raise NotFoundError(f"no event has id {event_id}") from exc
        return _execution(row)

    async def get_execution(self, execution_id: int) -> Execution:
        async with self._read() as session:
            row = await session.get(ExecutionRow, execution_id)
        if row is None:
            raise NotFoundError(f"no execution has id {execution_id}")
        return _execution(row)

    async def list_executions(
        self, *, event_id: int | None, owner_id: int | None, limit: int
    ) -> list[Execution]:
        """Newest first, filtered by event and by the event's owner when given."""
        query = select(ExecutionRow).order_by(ExecutionRow.id.desc()).limit(limit)
        if event_id is not None:
            query = query.where(ExecutionRow.event_id == event_id)
        if owner_id is not None:
            query = query.join(EventRow, EventRow.id == ExecutionRow.event_id).where(
                EventRow.owner_id == owner_id
            )
        async with self._read() as session:
            return [_execution(row) for row in await session.scalars(query)]

    async def claim_next(self, worker_id: str, now: datetime) -> tuple[Execution, Event] | None:
        """Move the most urgent queued execution to running for this worker, or return None.

        One conditional UPDATE: highest priority first, then oldest. On PostgreSQL the row is
        picked with FOR UPDATE SKIP LOCKED so concurrent workers never wait on each other; on
        SQLite the statement holds the write lock. Either way it changes exactly one row or none.
        """
        check_transition(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        candidate = (
            select(ExecutionRow.id)
            .where(ExecutionRow.status == ExecutionStatus.QUEUED)
            .order_by(ExecutionRow.priority.desc(), ExecutionRow.queued_at, ExecutionRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claim = (
            update(ExecutionRow)
            .where(ExecutionRow.id == candidate, ExecutionRow.status == ExecutionStatus.QUEUED)
            .values(status=ExecutionStatus.RUNNING, worker_id=worker_id, started_at=now)
            .returning(ExecutionRow)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            row = await session.scalar(claim)
            if row is None:
                return None
            event_row = await session.get(EventRow, row.event_id)
            assert event_row is not None  # the foreign key guarantees it
            return _execution(row), _event(event_row)

    async def record_run(self, execution_id: int, worker_id: str, record: RunRecord) -> Execution:
        """Store a finished run on a running execution owned by ``worker_id``."""
        check_transition(ExecutionStatus.RUNNING, record.status)
        values = asdict(record)
        finish = (
            update(ExecutionRow)
            .where(
                ExecutionRow.id == execution_id,
                ExecutionRow.status == ExecutionStatus.RUNNING,
                ExecutionRow.worker_id == worker_id,
            )
            .values(**values)
            .returning(ExecutionRow)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            row = await session.scalar(finish)
            if row is None:
                current = await session.get(ExecutionRow, execution_id)
                if current is None:
                    raise NotFoundError(f"no execution has id {execution_id}")
                check_transition(ExecutionStatus(current.status), record.status)
                raise ConflictError(
                    f"execution {execution_id} is not running on worker {worker_id!r}"
                )
            return _execution(row)

    async def set_output(self, execution_id: int, value: Any) -> None:
        """Store the JSON a running execution hands on."""
        await self._set_running_field(execution_id, output=value)

    async def set_condition(self, execution_id: int, condition: bool) -> None:
        """Store the branch a running execution chose."""
        await self._set_running_field(execution_id, condition=condition)

    async def _set_running_field(self, execution_id: int, **values: Any) -> None:
        change = (
            update(ExecutionRow)
            .where(
                ExecutionRow.id == execution_id,
                ExecutionRow.status == ExecutionStatus.RUNNING,
            )
            .values(**values)
        )
        async with self._write() as session:
            result = await session.execute(change)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(f"execution {execution_id} is not running")

    # variables

    async def get_variable(self, owner_id: int, key: str) -> tuple[bool, Any]:
        """(found, value) of one of the owner's variables."""
        query = select(VariableRow.value).where(
            VariableRow.owner_id == owner_id, VariableRow.key == key
        )
        async with self._read() as session:
            found = (await session.execute(query)).one_or_none()
        return (False, None) if found is None else (True, found[0])

    async def put_variable(self, owner_id: int, key: str, value: Any, now: datetime) -> None:
        """Create or replace a variable: the last write wins."""
        values = {"owner_id": owner_id, "key": key, "value": value, "updated_at": now}
        keys = [VariableRow.owner_id, VariableRow.key]
        statement: Executable
        if self.engine.dialect.name == "postgresql":
            pg = pg_insert(VariableRow).values(**values)
            statement = pg.on_conflict_do_update(
                index_elements=keys, set_={"value": pg.excluded.value, "updated_at": now}
            )
        else:
            lite = sqlite_insert(VariableRow).values(**values)
            statement = lite.on_conflict_do_update(
                index_elements=keys, set_={"value": lite.excluded.value, "updated_at": now}
            )
        async with self._write() as session:
            await session.execute(statement)

    async def delete_variable(self, owner_id: int, key: str) -> bool:
        """Delete a variable; whether it existed."""
        async with self._write() as session:
            result = await session.execute(
                delete(VariableRow).where(VariableRow.owner_id == owner_id, VariableRow.key == key)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list_variables(self, owner_id: int) -> dict[str, Any]:
        query = (
            select(VariableRow.key, VariableRow.value)
            .where(VariableRow.owner_id == owner_id)
            .order_by(VariableRow.key)
        )
        async with self._read() as session:
            return {key: value for key, value in (await session.execute(query)).all()}

    async def append_logs(self, execution_id: int, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        async with self._write() as session:
            session.add_all(LogLineRow(execution_id=execution_id, **asdict(line)) for line in lines)

    async def read_logs(self, execution_id: int, *, after_seq: int = -1) -> list[LogLine]:
        query = (
            select(LogLineRow)
            .where(LogLineRow.execution_id == execution_id, LogLineRow.seq > after_seq)
            .order_by(LogLineRow.seq)
        )
        async with self._read() as session:
            rows = await session.scalars(query)
            return [LogLine(seq=r.seq, stream=r.stream, at=r.at, line=r.line) for r in rows]


def asdict_shallow(value: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, without copying nested values."""
    return {name: getattr(value, name) for name in value.__slots__}


def _apply_event_fields(row: EventRow, values: dict[str, Any]) -> None:
    limits: ResourceLimits | None = values.pop("limits", None)
    for name, value in values.items():
        setattr(row, name, value)
    if limits is not None:
        row.timeout_seconds = limits.timeout_seconds
        row.cpus = limits.cpus
        row.memory_mb = limits.memory_mb
        row.pids = limits.pids


def _user(row: UserRow) -> User:
    return User(id=row.id, name=row.name, is_admin=row.is_admin, created_at=row.created_at)


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        language=Language(row.language),
        script=row.script,
        env=dict(row.env),
        limits=ResourceLimits(
            timeout_seconds=row.timeout_seconds,
            cpus=row.cpus,
            memory_mb=row.memory_mb,
            pids=row.pids,
        ),
        network="egress" if row.network == "egress" else "none",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _execution(row: ExecutionRow) -> Execution:
    return Execution(
        id=row.id,
        event_id=row.event_id,
        status=ExecutionStatus(row.status),
        attempt=row.attempt,
        priority=row.priority,
        trigger=row.trigger,
        scheduled_at=row.scheduled_at,
        input=row.input,
        output=row.output,
        condition=row.condition,
        worker_id=row.worker_id,
        error=row.error,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        setup_seconds=row.setup_seconds,
        run_seconds=row.run_seconds,
        cleanup_seconds=row.cleanup_seconds,
        exit_code=row.exit_code,
        signal=row.signal,
        timed_out=row.timed_out,
        oom_killed=row.oom_killed,
        peak_memory_bytes=row.peak_memory_bytes,
        cpu_seconds=row.cpu_seconds,
    )
