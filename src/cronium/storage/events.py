"""Events and their versions: what users ask Cronium to run.

An event's settings are declared once (``EventSettings`` in ``domain/event.py``); each is a
column of the events table by its flat name, so reading and writing a row follows the
declaration. Every change of a versioned setting makes a new version; a run keeps the version
it ran, and an older version can be brought back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cronium.domain import settings as declared
from cronium.domain.event import Event, EventSettings, EventStatus
from cronium.domain.execution import ExecutionStatus
from cronium.errors import ConflictError, InvalidInputError, NotFoundError
from cronium.storage.rows import event_of
from cronium.storage.tables import EventRow, EventVersionRow, ExecutionRow, VariableRow
from cronium.storage.transactions import Database

EventFields = EventSettings  # what creating an event takes
SETTINGS = {item.name: item for item in declared.flat_settings(EventSettings)}
# What a version keeps: the script and every setting (not the status, counters or webhook).
VERSIONED = declared.names(EventSettings, lambda meta: meta.versioned)


class EventChanges:
    """A partial update of an event: new values by setting name (as ``EventSettings``
    declares them, e.g. ``EventChanges(script="echo hi")``); the settings named in ``clear``
    are removed (set to none)."""

    __slots__ = ("clear", "values")

    def __init__(self, clear: frozenset[str] = frozenset(), **values: Any) -> None:
        unknown = sorted((values.keys() | clear) - SETTINGS.keys())
        if unknown:
            raise InvalidInputError(f"events have no setting {', '.join(unknown)}")
        self.values: Mapping[str, Any] = values
        self.clear = clear

    def get(self, name: str) -> Any:
        """The new value of setting ``name``, or None if it does not change."""
        return self.values.get(name)


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
        row.status = EventStatus.DRAFT  # so that an active status starts its schedule now
        _write(row, declared.to_flat(fields), now)
        try:
            async with self.db.write() as unit:
                session = unit.session
                await _check_secrets(session, owner_id, fields.secrets, now)
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

    async def all(self, owner_id: int | None, tags: tuple[str, ...] = ()) -> list[Event]:
        """Events of one owner, or of everyone when ``owner_id`` is None; with ``tags``, only
        those that have every one of them."""
        query = select(EventRow).order_by(EventRow.id)
        if owner_id is not None:
            query = query.where(EventRow.owner_id == owner_id)
        async with self.db.read() as session:
            events = [event_of(row) for row in await session.scalars(query)]
        return [event for event in events if set(tags) <= set(event.tags)]

    async def update(
        self,
        event_id: int,
        changes: EventChanges,
        now: datetime,
        check: Callable[[Event], None] | None = None,
    ) -> Event:
        """Apply ``changes``; a change of the script or a setting makes a new version.
        ``check`` sees the event as it is, in the same transaction, and may refuse the change
        by raising."""
        values = {name: value for name, value in changes.values.items() if value is not None}
        values |= {name: None for name in changes.clear if SETTINGS[name].meta.clearable}
        try:
            async with self.db.write() as unit:
                session = unit.session
                row = await _event_row(session, event_id)
                if check is not None:
                    check(event_of(row))
                await _check_secrets(session, row.owner_id, values.get("secrets") or {}, now)
                before = _settings_of(row)
                _write(row, values, now)
                row.updated_at = now
                if _settings_of(row) != before:
                    row.version += 1
                    session.add(_version_row(row, now))
        except IntegrityError as exc:
            raise ConflictError(f"an event named {changes.get('name')!r} already exists") from exc
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


async def _check_secrets(
    session: AsyncSession, owner_id: int, secrets: Mapping[str, str], now: datetime
) -> None:
    """InvalidInputError naming the keys of ``secrets`` that are none of the owner's
    unexpired secret variables."""
    if not secrets:
        return
    query = select(VariableRow.key).where(
        VariableRow.owner_id == owner_id,
        VariableRow.secret.is_(True),
        VariableRow.key.in_(list(secrets)),
        or_(VariableRow.expires_at.is_(None), VariableRow.expires_at > now),
    )
    missing = sorted(set(secrets) - set(await session.scalars(query)))
    if not missing:
        return
    plain_query = select(VariableRow.key).where(
        VariableRow.owner_id == owner_id,
        VariableRow.secret.is_(False),
        VariableRow.key.in_(missing),
    )
    plain = sorted(await session.scalars(plain_query))
    if plain:
        raise InvalidInputError(
            f"secrets: {', '.join(map(repr, plain))} is a plain variable, not a secret: mark it"
            " secret (set it again as a secret), or read it with get_variable instead"
        )
    raise InvalidInputError(
        f"secrets: the event's owner has no secret variable {', '.join(map(repr, missing))}"
        " (create it first, or leave it out of the event's secrets)"
    )


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


def _write(row: EventRow, values: Mapping[str, Any], now: datetime) -> None:
    """Write settings (by flat name, as values) to the row."""
    if "schedule" in values and SETTINGS["schedule"].dump(values["schedule"]) != row.schedule:
        row.schedule_cursor = now  # a new schedule fires from now on, nothing before
    status = values.get("status")
    for name, value in values.items():
        if name != "status":
            setattr(row, name, SETTINGS[name].dump(value))
    if status is not None:
        _apply_status(row, status, now)


def _apply_status(row: EventRow, status: EventStatus, now: datetime) -> None:
    row.paused_reason = None  # whoever sets a status has seen why it was paused
    if status != row.status:
        if status is EventStatus.ACTIVE:
            # (re-)activation: fires from now on, and the execution count starts again
            row.schedule_cursor, row.fire_count = now, 0
        row.status = status
