"""SQLAlchemy tables. Only the storage package touches them; everything else sees domain objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-incremented rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonValue = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned time-zone aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16), server_default="user")
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2id; None: no password login
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JsonValue)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class SessionRow(Base):
    """A browser's login: only the hashes of its cookie and of its CSRF token are kept."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginFailureRow(Base):
    """Failed logins in a row, per account (``kind`` user) and per address (``kind`` address)."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class EventShareRow(Base):
    """An event (or workflow) shared with another user, as ``viewer`` or ``operator``."""

    __tablename__ = "event_shares"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class AuditRow(Base):
    """One sensitive action: who (kept as a name too: users can be deleted), what, on what."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "action", "at"), Index(None, "actor_id", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(64))
    execution_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    tags: Mapped[list[str]] = mapped_column(JsonValue, server_default="[]")
    kind: Mapped[str] = mapped_column(String(16), server_default="script")
    language: Mapped[str | None] = mapped_column(String(16))
    script: Mapped[str] = mapped_column(Text)
    http: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    workflow: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    env: Mapped[dict[str, str]] = mapped_column(JsonValue)
    timeout_seconds: Mapped[float] = mapped_column(Float)
    cpus: Mapped[float] = mapped_column(Float)
    memory_mb: Mapped[int] = mapped_column(Integer)
    pids: Mapped[int] = mapped_column(Integer)
    network: Mapped[str] = mapped_column(String(8), server_default="none")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    pool: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="active", index=True)
    # why the scheduler paused the event by itself (its schedule could not be computed...)
    paused_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    schedule_cursor: Mapped[datetime | None]
    missed_runs: Mapped[str] = mapped_column(String(16), server_default="run_once")
    catch_up_seconds: Mapped[int] = mapped_column(Integer, server_default="3600")
    concurrency: Mapped[str] = mapped_column(String(16), server_default="allow")
    max_concurrent: Mapped[int | None] = mapped_column(Integer)
    max_executions: Mapped[int | None] = mapped_column(Integer)
    fire_count: Mapped[int] = mapped_column(Integer, server_default="0")
    retry_backoff_seconds: Mapped[float] = mapped_column(Float, server_default="10")
    retry_backoff_max_seconds: Mapped[float] = mapped_column(Float, server_default="3600")
    webhook_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    actions: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonValue, nullable=True)
    # which of the owner's secret variables the sandbox gets, and how: {KEY: "file"|"env"}
    secrets: Mapped[dict[str, str] | None] = mapped_column(JsonValue, nullable=True)
    # a tool event's one action: {"tool", "action", "params"}
    tool_action: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    global_helpers: Mapped[bool] = mapped_column(Boolean, server_default="0")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)  # schedulers follow changes by it


class EventVersionRow(Base):
    """The script and settings of an event as they were after each change."""

    __tablename__ = "event_versions"
    __table_args__ = (UniqueConstraint("event_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    restored_from: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class ExecutionRow(Base):
    __tablename__ = "executions"
    __table_args__ = (
        # a scheduled fire is queued once, whatever the number of schedulers
        UniqueConstraint("event_id", "scheduled_at", "attempt"),
        Index(None, "status", "priority", "queued_at"),
        Index(None, "status", "lease_expires_at"),
        Index(None, "worker_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    trigger: Mapped[str] = mapped_column(String(16), server_default="manual")
    pool: Mapped[str | None] = mapped_column(String(64))
    retry_of: Mapped[int | None] = mapped_column(BigInteger)
    event_version: Mapped[int | None] = mapped_column(Integer)  # set when a worker takes it
    parent_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # its workflow run
    node: Mapped[str | None] = mapped_column(String(100))  # its node in that workflow
    lease_expires_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # a retry waits for its backoff
    # times a worker could not set up its sandbox and gave it back (the script never started)
    start_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    scheduled_at: Mapped[datetime | None]
    input: Mapped[Any] = mapped_column(JsonValue, nullable=True)
    output: Mapped[Any] = mapped_column(JsonValue, nullable=True)
    condition: Mapped[bool | None] = mapped_column(Boolean)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    setup_seconds: Mapped[float | None] = mapped_column(Float)
    run_seconds: Mapped[float | None] = mapped_column(Float)
    cleanup_seconds: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    signal: Mapped[int | None] = mapped_column(Integer)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    oom_killed: Mapped[bool] = mapped_column(Boolean, default=False)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cpu_seconds: Mapped[float | None] = mapped_column(Float)


class WorkflowNodeRow(Base):
    """One node of one workflow run (the run is the workflow event's execution)."""

    __tablename__ = "workflow_nodes"
    __table_args__ = (UniqueConstraint("run_id", "node"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("executions.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    execution_id: Mapped[int | None] = mapped_column(BigInteger)  # its latest attempt
    input: Mapped[Any] = mapped_column(JsonValue, nullable=True)
    output: Mapped[Any] = mapped_column(JsonValue, nullable=True)
    condition: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class WorkerRow(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    backend: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JsonValue)
    capacity: Mapped[int] = mapped_column(Integer)
    running: Mapped[int] = mapped_column(Integer, server_default="0")
    started_at: Mapped[datetime]
    last_heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]


class WriteProbeRow(Base):
    """One row /readyz rewrites to learn whether the database takes writes (a full disk)."""

    __tablename__ = "write_probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    written_at: Mapped[datetime]


class VariableRow(Base):
    __tablename__ = "variables"
    __table_args__ = (UniqueConstraint("owner_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[Any] = mapped_column(JsonValue, nullable=True)  # None when secret
    description: Mapped[str] = mapped_column(Text, server_default="")
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    json_schema: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    secret: Mapped[bool] = mapped_column(Boolean, server_default="0")
    ciphertext: Mapped[str | None] = mapped_column(Text)  # a secret's value, encrypted
    updated_at: Mapped[datetime]


class LogLineRow(Base):
    __tablename__ = "log_lines"
    __table_args__ = (UniqueConstraint("execution_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("executions.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]
    line: Mapped[str] = mapped_column(Text)


class ToolRow(Base):
    """A user's credentials for one service (a Slack webhook, an SMTP account...), encrypted
    as a whole under the deployment key and bound to the row's owner and name."""

    __tablename__ = "tools"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, server_default="")
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeliveryRow(Base):
    """One message sent (or to send) through a tool: its attempts and their outcome. Pending
    ones (``due_at`` set) are the outbox that workers send from."""

    __tablename__ = "deliveries"
    __table_args__ = (Index(None, "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    execution_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    tool_id: Mapped[int | None] = mapped_column(ForeignKey("tools.id", ondelete="SET NULL"))
    tool: Mapped[str] = mapped_column(String(64))  # as the caller named it
    kind: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # action, script, event, test
    params: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    target: Mapped[str] = mapped_column(Text, server_default="")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    code: Mapped[int | None] = mapped_column(Integer)
    reply: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]  # the next attempt of a pending delivery
    claimed_until: Mapped[datetime | None]  # a sender holds it until then
    first_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
