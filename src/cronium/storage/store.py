"""The storage gateway: every query Cronium makes is a named operation of :class:`Store`.

Routes, CLI commands and the worker call these methods and get domain objects back; nobody else
builds a query. Each operation is one transaction, so nothing is ever half-written. The queue's
operations are in ``queue.py``, the workers' in ``workers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cronium.domain.action import Action
from cronium.domain.event import (
    Event,
    EventKind,
    EventStatus,
    Language,
    Network,
    ResourceLimits,
)
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.http import HttpRequest
from cronium.domain.schedule import Schedule, SchedulePolicy, schedule_to_json
from cronium.domain.user import ApiToken, User
from cronium.domain.workflow import Graph
from cronium.errors import ConflictError, NotFoundError
from cronium.storage.queue import LogLine, QueueOperations
from cronium.storage.rows import asdict_shallow, event_of, execution_of, token_of, user_of
from cronium.storage.schedules import ScheduleOperations
from cronium.storage.tables import (
    ApiTokenRow,
    EventRow,
    EventVersionRow,
    ExecutionRow,
    LogLineRow,
    UserRow,
    VariableRow,
    WriteProbeRow,
)
from cronium.storage.workers import WorkerOperations


@dataclass(frozen=True, slots=True)
class EventFields:
    """Everything needed to create an event: a script (language, script) or an HTTP request."""

    name: str
    language: Language | None
    script: str
    env: dict[str, str]
    limits: ResourceLimits
    kind: EventKind = EventKind.SCRIPT
    http: HttpRequest | None = None
    workflow: Graph | None = None
    network: Network = "none"
    max_attempts: int = 1
    retry_backoff_seconds: float = 10.0
    retry_backoff_max_seconds: float = 3600.0
    pool: str | None = None
    status: EventStatus = EventStatus.ACTIVE
    schedule: Schedule | None = None
    policy: SchedulePolicy = field(default_factory=SchedulePolicy)
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class EventChanges:
    """A partial update of an event: None leaves a field as it is; the fields named in
    ``clear`` (``schedule``, ``pool``) are removed."""

    name: str | None = None
    language: Language | None = None
    script: str | None = None
    http: HttpRequest | None = None
    workflow: Graph | None = None
    env: dict[str, str] | None = None
    limits: ResourceLimits | None = None
    network: Network | None = None
    max_attempts: int | None = None
    retry_backoff_seconds: float | None = None
    retry_backoff_max_seconds: float | None = None
    pool: str | None = None
    status: EventStatus | None = None
    schedule: Schedule | None = None
    policy: SchedulePolicy | None = None
    actions: tuple[Action, ...] | None = None
    clear: frozenset[str] = frozenset()


CLEARABLE = frozenset({"schedule", "pool"})
# What a version keeps: the script and every setting (not the status, counters or webhook).
VERSIONED = (
    "name", "kind", "language", "script", "http", "workflow", "env", "timeout_seconds", "cpus",
    "memory_mb", "pids", "network", "max_attempts", "retry_backoff_seconds",
    "retry_backoff_max_seconds", "pool", "schedule", "missed_runs", "catch_up_seconds",
    "concurrency", "max_concurrent", "max_executions", "actions",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventVersion:
    """An event's script and settings after one of its changes."""

    event_id: int
    version: int
    settings: dict[str, Any]
    restored_from: int | None
    created_at: datetime


class Store(QueueOperations, ScheduleOperations, WorkerOperations):
    """Named operations over the database. One instance per process, shared by all tasks."""

    async def probe_writes(self, now: datetime) -> None:
        """Rewrite one row: StorageError if the database takes no writes (a full disk, a
        read-only file, a standby)."""
        async with self._write() as session:
            await session.execute(
                update(WriteProbeRow).where(WriteProbeRow.id == 1).values(written_at=now)
            )

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
        return user_of(row)

    async def get_user_by_name(self, name: str) -> User:
        async with self._read() as session:
            row = await session.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFoundError(f"no user is named {name!r}")
        return user_of(row)

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
        return token_of(row)

    async def find_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The token with this hash and its user, or None."""
        query = (
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(ApiTokenRow.token_hash == token_hash)
        )
        async with self._read() as session:
            found = (await session.execute(query)).one_or_none()
        return None if found is None else (token_of(found[0]), user_of(found[1]))

    async def touch_token(self, token_id: int, now: datetime) -> None:
        async with self._write() as session:
            await session.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now)
            )

    async def list_tokens(self, user_id: int) -> list[ApiToken]:
        query = select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id)
        async with self._read() as session:
            return [token_of(row) for row in await session.scalars(query)]

    async def revoke_token(self, user_id: int, token_id: int, now: datetime) -> ApiToken:
        async with self._write() as session:
            row = await session.get(ApiTokenRow, token_id)
            if row is None or row.user_id != user_id:
                raise NotFoundError(f"no API token has id {token_id}")
            if row.revoked_at is None:
                row.revoked_at = now
        return token_of(row)

    # events

    async def create_event(self, owner_id: int, fields: EventFields, now: datetime) -> Event:
        row = EventRow(owner_id=owner_id, created_at=now, updated_at=now, fire_count=0, version=1)
        _apply_event_fields(row, asdict_shallow(fields), now)
        try:
            async with self._write() as session:
                session.add(row)
                await session.flush()
                session.add(_version_row(row, now))
        except IntegrityError as exc:
            raise ConflictError(f"an event named {fields.name!r} already exists") from exc
        return event_of(row)

    async def get_event(self, event_id: int) -> Event:
        async with self._read() as session:
            row = await session.get(EventRow, event_id)
        if row is None:
            raise NotFoundError(f"no event has id {event_id}")
        return event_of(row)

    async def list_events(self, owner_id: int | None) -> list[Event]:
        """Events of one owner, or of everyone when ``owner_id`` is None."""
        query = select(EventRow).order_by(EventRow.id)
        if owner_id is not None:
            query = query.where(EventRow.owner_id == owner_id)
        async with self._read() as session:
            return [event_of(row) for row in await session.scalars(query)]

    async def update_event(self, event_id: int, changes: EventChanges, now: datetime) -> Event:
        """Apply ``changes``; a change of the script or a setting makes a new version."""
        values = {k: v for k, v in asdict_shallow(changes).items() if v is not None}
        clear = values.pop("clear")
        try:
            async with self._write() as session:
                row = await self._event_row(session, event_id)
                before = _settings_of(row)
                _apply_event_fields(row, values, now)
                for name in clear & CLEARABLE:
                    setattr(row, name, None)
                row.updated_at = now
                if _settings_of(row) != before:
                    row.version += 1
                    session.add(_version_row(row, now))
        except IntegrityError as exc:
            raise ConflictError(f"an event named {changes.name!r} already exists") from exc
        return event_of(row)

    async def list_event_versions(self, event_id: int) -> list[EventVersion]:
        """The event's versions, newest first."""
        query = (
            select(EventVersionRow)
            .where(EventVersionRow.event_id == event_id)
            .order_by(EventVersionRow.version.desc())
        )
        async with self._read() as session:
            return [_version_of(row) for row in await session.scalars(query)]

    async def get_event_version(self, event_id: int, version: int) -> EventVersion:
        async with self._read() as session:
            row = await self._version_row(session, event_id, version)
        return _version_of(row)

    async def restore_event_version(self, event_id: int, version: int, now: datetime) -> Event:
        """Bring back the script and settings of ``version``, as a new version."""
        settings: dict[str, Any] = {}
        try:
            async with self._write() as session:
                row = await self._event_row(session, event_id)
                settings = dict((await self._version_row(session, event_id, version)).settings)
                before = _settings_of(row)
                for name in VERSIONED:
                    setattr(row, name, settings.get(name, getattr(row, name)))
                if row.schedule != before["schedule"]:
                    row.schedule_cursor = now  # as with any new schedule: from now on
                row.updated_at = now
                if _settings_of(row) != before:
                    row.version += 1
                    session.add(_version_row(row, now, restored_from=version))
        except IntegrityError as exc:
            raise ConflictError(
                f"version {version} is named {settings.get('name')!r}, which another event "
                "has now: rename that event first"
            ) from exc
        return event_of(row)

    @staticmethod
    async def _event_row(session: AsyncSession, event_id: int) -> EventRow:
        row = await session.get(EventRow, event_id)
        if row is None:
            raise NotFoundError(f"no event has id {event_id}")
        return row

    @staticmethod
    async def _version_row(session: AsyncSession, event_id: int, version: int) -> EventVersionRow:
        row = await session.scalar(
            select(EventVersionRow).where(
                EventVersionRow.event_id == event_id, EventVersionRow.version == version
            )
        )
        if row is None:
            raise NotFoundError(f"event {event_id} has no version {version}")
        return row

    async def set_webhook(self, event_id: int, key_hash: str | None) -> None:
        """Give the event a webhook key (by its hash), or take it away (None)."""
        async with self._write() as session:
            row = await session.get(EventRow, event_id)
            if row is None:
                raise NotFoundError(f"no event has id {event_id}")
            row.webhook_key_hash = key_hash

    async def find_webhook(self, key_hash: str) -> Event | None:
        """The event whose webhook key has this hash."""
        query = select(EventRow).where(EventRow.webhook_key_hash == key_hash)
        async with self._read() as session:
            row = await session.scalar(query)
        return None if row is None else event_of(row)

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

    async def get_execution(self, execution_id: int) -> Execution:
        async with self._read() as session:
            row = await session.get(ExecutionRow, execution_id)
        if row is None:
            raise NotFoundError(f"no execution has id {execution_id}")
        return execution_of(row)

    async def count_unfinished(self, event_id: int) -> int:
        """How many of the event's executions are queued or running."""
        query = (
            select(func.count())
            .select_from(ExecutionRow)
            .where(
                ExecutionRow.event_id == event_id,
                ExecutionRow.status.in_([ExecutionStatus.QUEUED, ExecutionStatus.RUNNING]),
            )
        )
        async with self._read() as session:
            return int(await session.scalar(query) or 0)

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
            return [execution_of(row) for row in await session.scalars(query)]

    # variables

    async def get_variable(self, owner_id: int, key: str) -> tuple[bool, Any]:
        """(found, value) of one of the owner's variables."""
        query = select(VariableRow.value).where(
            VariableRow.owner_id == owner_id, VariableRow.key == key
        )
        async with self._read() as session:
            found = (await session.execute(query)).one_or_none()
        return (False, None) if found is None else (True, found[0])

    async def put_variable(
        self,
        owner_id: int,
        key: str,
        value: Any,
        now: datetime,
        held_by: tuple[int, str] | None = None,
    ) -> None:
        """Create or replace a variable: the last write wins. With ``held_by`` (an execution
        and its worker), only while that execution runs on that worker (LeaseLostError)."""
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
            await self._check_holder(session, held_by)
            await session.execute(statement)

    async def delete_variable(
        self, owner_id: int, key: str, held_by: tuple[int, str] | None = None
    ) -> bool:
        """Delete a variable; whether it existed. ``held_by`` as for ``put_variable``."""
        async with self._write() as session:
            await self._check_holder(session, held_by)
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

    async def read_logs(
        self, execution_id: int, *, after_seq: int = -1, limit: int | None = None
    ) -> list[LogLine]:
        """Lines after ``after_seq``, in order, at most ``limit`` of them (columns, not ORM
        objects: an execution may have a hundred thousand)."""
        query = (
            select(LogLineRow.seq, LogLineRow.stream, LogLineRow.at, LogLineRow.line)
            .where(LogLineRow.execution_id == execution_id, LogLineRow.seq > after_seq)
            .order_by(LogLineRow.seq)
            .limit(limit)
        )
        async with self._read() as session:
            rows = await session.execute(query)
            return [
                LogLine(seq=seq, stream=stream, at=at, line=line) for seq, stream, at, line in rows
            ]


def _settings_of(row: EventRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in VERSIONED}


def _version_row(row: EventRow, now: datetime, restored_from: int | None = None) -> EventVersionRow:
    return EventVersionRow(
        event_id=row.id,
        version=row.version,
        settings=_settings_of(row),
        restored_from=restored_from,
        created_at=now,
    )


def _version_of(row: EventVersionRow) -> EventVersion:
    return EventVersion(
        event_id=row.event_id,
        version=row.version,
        settings=dict(row.settings),
        restored_from=row.restored_from,
        created_at=row.created_at,
    )


def _apply_event_fields(row: EventRow, values: dict[str, Any], now: datetime) -> None:
    limits: ResourceLimits | None = values.pop("limits", None)
    schedule: Schedule | None = values.pop("schedule", None)
    policy: SchedulePolicy | None = values.pop("policy", None)
    status: EventStatus | None = values.pop("status", None)
    actions: tuple[Action, ...] | None = values.pop("actions", None)
    http: HttpRequest | None = values.pop("http", None)
    workflow: Graph | None = values.pop("workflow", None)
    if workflow is not None:
        row.workflow = workflow.to_json()
    if actions is not None:
        row.actions = [action.to_json() for action in actions]
    if http is not None:
        row.http = http.to_json()
    for name, value in values.items():
        setattr(row, name, value)
    if limits is not None:
        row.timeout_seconds = limits.timeout_seconds
        row.cpus = limits.cpus
        row.memory_mb = limits.memory_mb
        row.pids = limits.pids
    if policy is not None:
        row.missed_runs, row.concurrency = policy.missed_runs, policy.concurrency
        row.catch_up_seconds = int(policy.catch_up.total_seconds())
        row.max_concurrent, row.max_executions = policy.max_concurrent, policy.max_executions
    if schedule is not None:
        row.schedule = schedule_to_json(schedule)
        row.schedule_cursor = now  # a new schedule fires from now on, nothing before
    if status is not None:
        _apply_status(row, status, now)


def _apply_status(row: EventRow, status: EventStatus, now: datetime) -> None:
    row.paused_reason = None  # whoever sets a status has seen why it was paused
    if status != row.status:
        if status is EventStatus.ACTIVE:
            # (re-)activation: fires from now on, and the execution count starts again
            row.schedule_cursor, row.fire_count = now, 0
        row.status = status
