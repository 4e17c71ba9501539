"""Turning table rows into domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cronium.domain import settings as declared
from cronium.domain.event import Event, EventSettings
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.user import ApiToken, Role, Scope, User
from cronium.storage.tables import ApiTokenRow, EventRow, ExecutionRow, UserRow


def asdict_shallow(value: Any) -> dict[str, Any]:
    """A slotted dataclass's fields as a dict, without copying (or recursing into) values:
    a deeply nested output costs nothing more."""
    return {name: getattr(value, name) for name in value.__slots__}


KNOWN_SCOPES = frozenset(scope.value for scope in Scope)


def user_of(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        has_password=row.password_hash is not None,
    )


def token_of(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(Scope(scope) for scope in row.scopes if scope in KNOWN_SCOPES),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


EVENT_SETTINGS = tuple(item.name for item in declared.flat_settings(EventSettings))
# settings whose column an older row may have left NULL though they cannot be null
DEFAULTED = frozenset(
    item.name
    for item in declared.flat_settings(EventSettings)
    if item.default is not None and not item.meta.clearable
)


def settings_of(row: EventRow) -> dict[str, Any]:
    """The row's settings by flat name, as JSON values; a NULL where the setting cannot be
    null (a column added since the row was written) reads as the setting's default."""
    values = {name: getattr(row, name) for name in EVENT_SETTINGS}
    return {
        name: value for name, value in values.items() if value is not None or name not in DEFAULTED
    }


def event_of(row: EventRow) -> Event:
    event: Event = declared.from_json(
        Event,
        settings_of(row),
        id=row.id,
        owner_id=row.owner_id,
        paused_reason=row.paused_reason,
        fire_count=row.fire_count,
        schedule_cursor=row.schedule_cursor,
        has_webhook=row.webhook_key_hash is not None,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
    return event


def execution_of(row: ExecutionRow) -> Execution:
    return Execution(
        id=row.id,
        event_id=row.event_id,
        status=ExecutionStatus(row.status),
        attempt=row.attempt,
        priority=row.priority,
        trigger=row.trigger,
        scheduled_at=row.scheduled_at,
        pool=row.pool,
        retry_of=row.retry_of,
        event_version=row.event_version,
        parent_id=row.parent_id,
        node=row.node,
        lease_expires_at=row.lease_expires_at,
        cancel_requested_at=row.cancel_requested_at,
        due_at=row.due_at,
        start_failures=row.start_failures,
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


def new_execution(
    event_id: int, *, input: Any, now: datetime, priority: int = 0, attempt: int = 1
) -> ExecutionRow:
    return ExecutionRow(
        event_id=event_id,
        status=ExecutionStatus.QUEUED,
        attempt=attempt,
        priority=priority,
        trigger="manual",
        input=input,
        queued_at=now,
        timed_out=False,
        oom_killed=False,
        start_failures=0,
    )
