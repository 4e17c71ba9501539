"""Events and their versions: what users ask Cronium to run.

Every change of an event's script or settings makes a new version (the settings listed in
``VERSIONED``); a run keeps the version it ran, and an older version can be brought back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cronium.domain.action import Action
from cronium.domain.event import Event, EventKind, EventStatus, Language, Network, ResourceLimits
from cronium.domain.execution import ExecutionStatus
from cronium.domain.http import HttpRequest
from cronium.domain.schedule import Schedule, SchedulePolicy, schedule_to_json
from cronium.domain.workflow import Graph
from cronium.errors import ConflictError, NotFoundError
from cronium.storage.rows import asdict_shallow, event_of
from cronium.storage.tables import EventRow, EventVersionRow, ExecutionRow
from cronium.storage.transactions import Database


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


class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, owner_id: int, fields: EventFields, now: datetime) -> Event:
        row = EventRow(owner_id=owner_id, created_at=now, updated_at=now, fire_count=0, version=1)
        _apply_event_fields(row, asdict_shallow(fields), now)
        try:
            async with self.db.write() as unit:
                session = unit.session
                session.add(row)
                await session.flush()
                session.add(_version_row(row, now))
        except IntegrityError as exc:
            raise ConflictError(f"an event named {fields.name!r} already exists") from exc
        return event_of(row)

    async def get(self, event_id: int) -> Event:
        async with self.db.read() as session:
            row = await session.get(EventRow, event_id)
        if row is None:
            raise NotFoundError(f"no event has id {event_id}")
        return event_of(row)

    async def all(self, owner_id: int | None) -> list[Event]:
        """Events of one owner, or of everyone when ``owner_id`` is None."""
        query = select(EventRow).order_by(EventRow.id)
        if owner_id is not None:
            query = query.where(EventRow.owner_id == owner_id)
        async with self.db.read() as session:
            return [event_of(row) for row in await session.scalars(query)]

    async def update(self, event_id: int, changes: EventChanges, now: datetime) -> Event:
        """Apply ``changes``; a change of the script or a setting makes a new version."""
        values = {k: v for k, v in asdict_shallow(changes).items() if v is not None}
        clear = values.pop("clear")
        try:
            async with self.db.write() as unit:
                session = unit.session
                row = await _event_row(session, event_id)
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

    async def versions(self, event_id: int) -> list[EventVersion]:
        """The event's versions, newest first."""
        query = (
            select(EventVersionRow)
            .where(EventVersionRow.event_id == event_id)
            .order_by(EventVersionRow.version.desc())
        )
        async with self.db.read() as session:
            return [_version_of(row) for row in await session.scalars(query)]

    async def version(self, event_id: int, version: int) -> EventVersion:
        async with self.db.read() as session:
            row = await _stored_version(session, event_id, version)
        return _version_of(row)

    async def restore(self, event_id: int, version: int, now: datetime) -> Event:
        """Bring back the script and settings of ``version``, as a new version."""
        settings: dict[str, Any] = {}
        try:
            async with self.db.write() as unit:
                session = unit.session
                row = await _event_row(session, event_id)
                settings = dict((await _stored_version(session, event_id, version)).settings)
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

    async def set_webhook(self, event_id: int, key_hash: str | None) -> None:
        """Give the event a webhook key (by its hash), or take it away (None)."""
        async with self.db.write() as unit:
            session = unit.session
            row = await session.get(EventRow, event_id)
            if row is None:
                raise NotFoundError(f"no event has id {event_id}")
            row.webhook_key_hash = key_hash

    async def find_webhook(self, key_hash: str) -> Event | None:
        """The event whose webhook key has this hash."""
        query = select(EventRow).where(EventRow.webhook_key_hash == key_hash)
        async with self.db.read() as session:
            row = await session.scalar(query)
        return None if row is None else event_of(row)

    async def delete(self, event_id: int) -> None:
        """Delete an event with its executions and logs; refused while one of them runs."""
        async with self.db.write() as unit:
            session = unit.session
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


async def _event_row(session: AsyncSession, event_id: int) -> EventRow:
    row = await session.get(EventRow, event_id)
    if row is None:
        raise NotFoundError(f"no event has id {event_id}")
    return row


async def _stored_version(session: AsyncSession, event_id: int, version: int) -> EventVersionRow:
    row = await session.scalar(
        select(EventVersionRow).where(
            EventVersionRow.event_id == event_id, EventVersionRow.version == version
        )
    )
    if row is None:
        raise NotFoundError(f"event {event_id} has no version {version}")
    return row


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
