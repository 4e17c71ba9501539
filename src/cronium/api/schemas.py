"""Request and response bodies. ``...Create``/``...Update`` come in, ``...Public`` goes out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from cronium.domain import event as ev
from cronium.domain import schedule as sch
from cronium.domain.action import Action, ActionWhen
from cronium.domain.event import Event, EventKind, EventStatus, Language, Network, ResourceLimits
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.http import METHODS, HttpRequest
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH, check_json_depth
from cronium.domain.schedule import (
    Concurrency,
    MissedRuns,
    Schedule,
    ScheduleKind,
    SchedulePolicy,
    schedule_to_json,
)
from cronium.domain.user import ApiToken, User
from cronium.domain.worker import DEFAULT_LEASE, WorkerInfo
from cronium.domain.workflow import NODES_MAX, Edge, EdgeKind, Graph, Node, NodeRun, NodeStatus
from cronium.errors import InvalidInputError
from cronium.storage import EventChanges, EventFields, EventVersion, LogLine

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ev.NAME_MAX)
]
Script = Annotated[str, Field(min_length=1, max_length=ev.SCRIPT_MAX_BYTES)]
Timeout = Annotated[float, Field(ge=ev.TIMEOUT_MIN, le=ev.TIMEOUT_MAX, description="Seconds.")]
Cpus = Annotated[float, Field(ge=ev.CPUS_MIN, le=ev.CPUS_MAX, description="CPU cores.")]
MemoryMb = Annotated[int, Field(ge=ev.MEMORY_MB_MIN, le=ev.MEMORY_MB_MAX, description="MiB.")]
Attempts = Annotated[
    int, Field(ge=1, le=100, description="Attempts in all; a lost worker's run is retried.")
]
Pool = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$"),
    Field(description="Only workers with this tag run the event (CRONIUM_WORKER_TAGS)."),
]
Instant = Annotated[
    AwareDatetime,
    Field(
        ge=sch.EARLIEST,
        le=sch.LATEST,
        description=f"With its offset; from {sch.EARLIEST:%Y-%m-%d} to {sch.LATEST:%Y-%m-%d}.",
    ),
]
Pids = Annotated[int, Field(ge=ev.PIDS_MIN, le=ev.PIDS_MAX, description="Processes.")]
ENV_NAME = re.compile(ev.ENV_NAME_PATTERN)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_script(script: str | None) -> str | None:
    if script is not None and not script.strip():
        raise ValueError("the script is empty: give the code to run")
    return script


def _check_env(env: dict[str, str] | None) -> dict[str, str] | None:
    for name in env or {}:
        if not ENV_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid environment variable name: use letters, digits and _, "
                "not starting with a digit"
            )
        if name.upper().startswith(ev.RESERVED_ENV_PREFIX):
            raise ValueError(f"{name!r}: names starting with CRONIUM_ are reserved for Cronium")
    return env


class ScheduleIn(Strict):
    """When an event fires: a cron expression, an interval, or one instant."""

    kind: ScheduleKind
    cron: str | None = Field(default=None, description="5 fields, or 6 with seconds first.")
    timezone: str = Field(default="UTC", description="IANA zone the cron expression is read in.")
    every_seconds: float | None = Field(
        default=None, ge=1, le=sch.MAX_INTERVAL_SECONDS, description="For intervals."
    )
    anchor: Instant | None = Field(default=None, description="Intervals count from it.")
    at: Instant | None = Field(default=None, description="For a one-off run.")
    start: Instant | None = Field(default=None, description="No fire before it.")
    end: Instant | None = Field(default=None, description="No fire after it.")

    def to_schedule(self) -> Schedule:
        schedule = Schedule(
            kind=self.kind,
            cron=self.cron,
            timezone=self.timezone,
            every=None if self.every_seconds is None else timedelta(seconds=self.every_seconds),
            anchor=self.anchor,
            at=self.at,
            start=self.start,
            end=self.end,
        )
        schedule.check(datetime.now(UTC))
        return schedule


class HttpIn(Strict):
    """The request an HTTP-request event makes; the response becomes the run's output."""

    method: str = Field(default="GET", description=", ".join(METHODS))
    url: str = Field(description="http:// or https://")
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(
        default=None,
        description="A string is sent as it is, any other JSON value as JSON. Without a body, "
        "the run's input (if any) is sent as JSON.",
    )
    fail_on_status: bool = Field(default=True, description="Whether a 4xx or 5xx fails the run.")

    def to_request(self) -> HttpRequest:
        request = HttpRequest(
            method=self.method.upper(),
            url=self.url,
            headers=self.headers,
            body=self.body,
            fail_on_status=self.fail_on_status,
        )
        request.check()
        return request


class NodeIn(Strict):
    name: str = Field(description="Unique in the workflow: letters, digits, _ . -")
    event_id: int = Field(description="The event this node runs (a script or an HTTP request).")


class EdgeIn(Strict):
    source: str
    target: str
    kind: EdgeKind = Field(default=EdgeKind.ALWAYS, description=", ".join(EdgeKind))
    value: bool = Field(default=True, description="on_condition: the condition taking it.")


class WorkflowIn(Strict):
    """The graph of a workflow; see docs/workflows.md for how a run moves through it."""

    nodes: list[NodeIn] = Field(max_length=NODES_MAX)
    edges: list[EdgeIn] = Field(default_factory=list, max_length=4 * NODES_MAX)

    def to_graph(self) -> Graph:
        graph = Graph(
            nodes=tuple(Node(node.name, node.event_id) for node in self.nodes),
            edges=tuple(Edge(e.source, e.target, e.kind, e.value) for e in self.edges),
        )
        graph.check()
        return graph


class ActionIn(Strict):
    when: ActionWhen = Field(description="success, failure, always, or condition (set true).")
    event_id: int = Field(description="The event to run, with this run's output as input.")


class PolicyFields(Strict):
    missed_runs: MissedRuns = MissedRuns.RUN_ONCE
    catch_up_seconds: int = Field(default=3600, ge=0, le=30 * 86400)
    concurrency: Concurrency = Concurrency.ALLOW
    max_concurrent: int | None = Field(default=None, ge=1, le=1000)
    max_executions: int | None = Field(default=None, ge=1)

    def to_policy(self) -> SchedulePolicy:
        return SchedulePolicy(
            missed_runs=self.missed_runs,
            catch_up=timedelta(seconds=self.catch_up_seconds),
            concurrency=self.concurrency,
            max_concurrent=self.max_concurrent,
            max_executions=self.max_executions,
        )


class EventCreate(PolicyFields):
    """A script event (``language`` and ``script``) or an HTTP-request event (``http``)."""

    name: Name
    kind: EventKind | None = Field(default=None, description="Implied by script or http.")
    language: Language | None = None
    script: Script | None = None
    http: HttpIn | None = None
    workflow: WorkflowIn | None = None
    env: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: Timeout = ev.TIMEOUT_DEFAULT
    cpus: Cpus = ev.CPUS_DEFAULT
    memory_mb: MemoryMb = ev.MEMORY_MB_DEFAULT
    pids: Pids = ev.PIDS_DEFAULT
    network: Network = Field(
        default="none", description="none, or egress where the server allows it."
    )
    max_attempts: Attempts = 1
    retry_backoff_seconds: float = Field(
        default=10, ge=0, le=86400, description="Wait before the 2nd attempt; doubled after."
    )
    retry_backoff_max_seconds: float = Field(default=3600, ge=0, le=7 * 86400)
    pool: Pool | None = None
    status: EventStatus = EventStatus.ACTIVE
    schedule: ScheduleIn | None = None
    actions: list[ActionIn] = Field(default_factory=list, max_length=20)

    _script = field_validator("script")(_check_script)
    _env = field_validator("env")(_check_env)

    @model_validator(mode="after")
    def _one_kind(self) -> EventCreate:
        given = {
            EventKind.SCRIPT: self.script is not None or self.language is not None,
            EventKind.HTTP: self.http is not None,
            EventKind.WORKFLOW: self.workflow is not None,
        }
        kinds = [kind for kind, present in given.items() if present]
        if len(kinds) > 1:
            raise ValueError("give one of: language and script, http, or workflow")
        kind = self.kind or (kinds[0] if kinds else EventKind.SCRIPT)
        if kind is EventKind.HTTP and self.http is None:
            raise ValueError("http: an HTTP-request event needs its request (method, url...)")
        if kind is EventKind.WORKFLOW and self.workflow is None:
            raise ValueError("workflow: a workflow needs its nodes (and edges)")
        if kind is EventKind.SCRIPT and (self.script is None or self.language is None):
            raise ValueError("a script event needs a language and a script (or give http)")
        if kinds and kinds[0] is not kind:
            raise ValueError(
                f"kind is {kind.value}, but the fields given are of a {kinds[0].value}"
            )
        self.kind = kind
        return self

    def to_fields(self) -> EventFields:
        return EventFields(
            name=self.name,
            kind=self.kind or EventKind.SCRIPT,
            language=self.language,
            script=self.script or "",
            http=None if self.http is None else self.http.to_request(),
            workflow=None if self.workflow is None else self.workflow.to_graph(),
            env=self.env,
            limits=ResourceLimits(
                timeout_seconds=self.timeout_seconds,
                cpus=self.cpus,
                memory_mb=self.memory_mb,
                pids=self.pids,
            ),
            network=self.network,
            max_attempts=self.max_attempts,
            retry_backoff_seconds=self.retry_backoff_seconds,
            retry_backoff_max_seconds=self.retry_backoff_max_seconds,
            pool=self.pool,
            status=self.status,
            schedule=None if self.schedule is None else self.schedule.to_schedule(),
            policy=self.to_policy(),
            actions=tuple(Action(a.when, a.event_id) for a in self.actions),
        )


class EventUpdate(Strict):
    """Fields to change; those left out keep their value. ``schedule: null`` and
    ``pool: null`` remove them."""

    name: Name | None = None
    language: Language | None = None
    script: Script | None = None
    http: HttpIn | None = None
    workflow: WorkflowIn | None = None
    env: dict[str, str] | None = None
    timeout_seconds: Timeout | None = None
    cpus: Cpus | None = None
    memory_mb: MemoryMb | None = None
    pids: Pids | None = None
    network: Network | None = None
    max_attempts: Attempts | None = None
    retry_backoff_seconds: float | None = Field(default=None, ge=0, le=86400)
    retry_backoff_max_seconds: float | None = Field(default=None, ge=0, le=7 * 86400)
    pool: Pool | None = None
    status: EventStatus | None = None
    schedule: ScheduleIn | None = None
    missed_runs: MissedRuns | None = None
    catch_up_seconds: int | None = Field(default=None, ge=0, le=30 * 86400)
    concurrency: Concurrency | None = None
    max_concurrent: int | None = Field(default=None, ge=1, le=1000)
    max_executions: int | None = Field(default=None, ge=1)
    actions: list[ActionIn] | None = Field(default=None, max_length=20)

    _script = field_validator("script")(_check_script)
    _env = field_validator("env")(_check_env)

    def to_changes(self, current: Event) -> EventChanges:
        given = self.model_fields_set
        limits = ResourceLimits(
            timeout_seconds=self.timeout_seconds or current.limits.timeout_seconds,
            cpus=self.cpus or current.limits.cpus,
            memory_mb=self.memory_mb or current.limits.memory_mb,
            pids=self.pids or current.limits.pids,
        )
        return EventChanges(
            name=self.name,
            language=self.language,
            script=self.script,
            http=None if self.http is None else self.http.to_request(),
            workflow=None if self.workflow is None else self.workflow.to_graph(),
            env=self.env,
            limits=None if limits == current.limits else limits,
            network=self.network,
            max_attempts=self.max_attempts,
            retry_backoff_seconds=self.retry_backoff_seconds,
            retry_backoff_max_seconds=self.retry_backoff_max_seconds,
            pool=self.pool,
            status=self.status,
            schedule=None if self.schedule is None else self.schedule.to_schedule(),
            policy=self._policy(current.policy),
            actions=None
            if self.actions is None
            else tuple(Action(a.when, a.event_id) for a in self.actions),
            clear=frozenset(
                name
                for name in ("schedule", "pool")
                if name in given and getattr(self, name) is None
            ),
        )

    def _policy(self, current: SchedulePolicy) -> SchedulePolicy | None:
        given = self.model_fields_set & set(PolicyFields.model_fields)
        if not given:
            return None
        merged = {
            "missed_runs": current.missed_runs,
            "catch_up_seconds": int(current.catch_up.total_seconds()),
            "concurrency": current.concurrency,
            "max_concurrent": current.max_concurrent,
            "max_executions": current.max_executions,
        } | {name: getattr(self, name) for name in given}
        for name in ("missed_runs", "catch_up_seconds", "concurrency"):
            if merged[name] is None:
                raise InvalidInputError(f"{name} cannot be null: give a value")
        return PolicyFields(**merged).to_policy()


class EventPublic(BaseModel):
    id: int
    owner_id: int
    name: str
    kind: EventKind
    language: Language | None
    script: str
    http: dict[str, Any] | None
    workflow: dict[str, Any] | None
    version: int
    env: dict[str, str]
    timeout_seconds: float
    cpus: float
    memory_mb: int
    pids: int
    network: Network
    max_attempts: int
    retry_backoff_seconds: float
    retry_backoff_max_seconds: float
    pool: str | None
    status: EventStatus
    schedule: dict[str, Any] | None
    missed_runs: MissedRuns
    catch_up_seconds: int
    concurrency: Concurrency
    max_concurrent: int | None
    max_executions: int | None
    fire_count: int
    actions: list[dict[str, Any]]
    has_webhook: bool
    created_at: datetime
    updated_at: datetime
    paused_reason: str | None = Field(
        default=None, description="Why the scheduler paused the event by itself, if it did."
    )

    @classmethod
    def of(cls, event: Event) -> EventPublic:
        return cls(
            id=event.id,
            owner_id=event.owner_id,
            name=event.name,
            kind=event.kind,
            language=event.language,
            script=event.script,
            http=None if event.http is None else event.http.to_json(),
            workflow=None if event.workflow is None else event.workflow.to_json(),
            version=event.version,
            env=event.env,
            timeout_seconds=event.limits.timeout_seconds,
            cpus=event.limits.cpus,
            memory_mb=event.limits.memory_mb,
            pids=event.limits.pids,
            network=event.network,
            max_attempts=event.max_attempts,
            retry_backoff_seconds=event.retry_backoff,
            retry_backoff_max_seconds=event.retry_backoff_max,
            pool=event.pool,
            status=event.status,
            schedule=None if event.schedule is None else schedule_to_json(event.schedule),
            missed_runs=event.policy.missed_runs,
            catch_up_seconds=int(event.policy.catch_up.total_seconds()),
            concurrency=event.policy.concurrency,
            max_concurrent=event.policy.max_concurrent,
            max_executions=event.policy.max_executions,
            fire_count=event.fire_count,
            actions=[action.to_json() for action in event.actions],
            has_webhook=event.has_webhook,
            paused_reason=event.paused_reason,
            created_at=event.created_at,
            updated_at=event.updated_at,
        )


class EventVersionPublic(BaseModel):
    version: int
    settings: dict[str, Any] = Field(description="The script and settings of this version.")
    restored_from: int | None = Field(description="The version this one brought back, if any.")
    created_at: datetime

    @classmethod
    def of(cls, version: EventVersion) -> EventVersionPublic:
        return cls.model_validate(version, from_attributes=True)


class NextFiresRequest(Strict):
    schedule: ScheduleIn
    count: int = Field(default=5, ge=1, le=100)


class NextFires(BaseModel):
    fires: list[datetime] = Field(description="The next fire times, in UTC.")


class WebhookIssued(BaseModel):
    key: str = Field(description="The webhook's secret key. Shown this once.")
    url: str = Field(description="POST here (any body: it becomes the run's input).")


class RunRequest(Strict):
    input: Any = Field(default=None, description="Any JSON value, handed to the script.")


def shallow(value: Any) -> Any:
    """``value``, or a note in its place if it nests deeper than JSON may here."""
    try:
        check_json_depth(value, DEFAULT_MAX_DEPTH, "the value")
    except InvalidInputError as exc:
        return {"not_shown": exc.message}
    return value


class ExecutionPublic(BaseModel):
    id: int
    event_id: int
    status: ExecutionStatus
    attempt: int
    priority: int
    trigger: str
    scheduled_at: datetime | None
    pool: str | None
    retry_of: int | None
    event_version: int | None
    parent_id: int | None
    node: str | None
    lease_expires_at: datetime | None
    cancel_requested_at: datetime | None
    due_at: datetime | None
    start_failures: int = Field(
        description="Times a worker could not set up the sandbox and queued it again"
        " (the script never started)."
    )
    input: Any
    output: Any
    condition: bool | None
    worker_id: str | None
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    setup_seconds: float | None
    run_seconds: float | None
    cleanup_seconds: float | None
    exit_code: int | None
    signal: int | None
    timed_out: bool
    oom_killed: bool
    peak_memory_bytes: int | None
    cpu_seconds: float | None

    @classmethod
    def of(cls, execution: Execution) -> ExecutionPublic:
        shown = cls.model_validate(execution, from_attributes=True)
        # a value stored before depths were bounded must not break a listing
        return shown.model_copy(
            update={name: shallow(getattr(execution, name)) for name in ("input", "output")}
        )


class NodeRunPublic(BaseModel):
    node: str
    status: NodeStatus
    execution_id: int | None = Field(description="Its latest attempt, once started.")
    input: Any
    output: Any
    condition: bool | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, node: NodeRun) -> NodeRunPublic:
        return cls.model_validate(node, from_attributes=True)


class WorkflowRunPublic(BaseModel):
    run: ExecutionPublic = Field(description="The run: an execution of the workflow's event.")
    nodes: list[NodeRunPublic]

    @classmethod
    def of(cls, run: Execution, nodes: list[NodeRun]) -> WorkflowRunPublic:
        return cls(run=ExecutionPublic.of(run), nodes=[NodeRunPublic.of(node) for node in nodes])


class RunAccepted(BaseModel):
    execution_id: int
    status: ExecutionStatus


class LogLinePublic(BaseModel):
    seq: int
    stream: str
    at: datetime
    line: str

    @classmethod
    def of(cls, line: LogLine) -> LogLinePublic:
        return cls.model_validate(line, from_attributes=True)


class TokenCreate(Strict):
    name: Name
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days until it expires; none: never."
    )


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        return cls.model_validate(token, from_attributes=True)


class TokenIssued(TokenPublic):
    token: str = Field(description="The secret. Shown this once: store it now.")


class UserPublic(BaseModel):
    id: int
    name: str
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls.model_validate(user, from_attributes=True)


class WorkerPublic(BaseModel):
    id: str
    host: str
    pid: int
    backend: str
    tags: list[str]
    capacity: int
    running: int
    started_at: datetime
    last_heartbeat_at: datetime
    stopped_at: datetime | None
    state: str = Field(description="alive, dead (no heartbeat for a lease) or stopped.")

    @classmethod
    def of(cls, worker: WorkerInfo, now: datetime) -> WorkerPublic:
        return cls(
            **{name: getattr(worker, name) for name in worker.__slots__ if name != "tags"},
            tags=list(worker.tags),
            state=worker.state(now, DEFAULT_LEASE),
        )


class ErrorBody(BaseModel):
    error: str = Field(description="A short code: invalid_input, not_found, conflict...")
    message: str = Field(description="What was wrong and how to fix it.")
