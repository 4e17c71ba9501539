"""Request and response bodies. ``...Create``/``...Update`` come in, ``...Public`` goes out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from cronium.api import declared as declared_fields
from cronium.api.declared import to_domain
from cronium.domain import event as ev
from cronium.domain import schedule as sch
from cronium.domain import settings as declared
from cronium.domain.action import Action, ActionWhen, ToolCall
from cronium.domain.audit import AuditEntry
from cronium.domain.event import Event, EventKind, EventSettings
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.http import METHODS, HttpRequest
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH, check_json_depth
from cronium.domain.schedule import (
    Schedule,
    ScheduleKind,
)
from cronium.domain.share import Share, ShareRole
from cronium.domain.user import ApiToken, Role, Scope, User
from cronium.domain.worker import DEFAULT_LEASE, WorkerInfo
from cronium.domain.workflow import NODES_MAX, Edge, EdgeKind, Graph, Node, NodeRun, NodeStatus
from cronium.errors import InvalidInputError
from cronium.metrics import queue_wait
from cronium.storage import EventChanges, EventFields, EventVersion, LogLine

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ev.NAME_MAX)
]
Instant = Annotated[
    AwareDatetime,
    Field(
        ge=sch.EARLIEST,
        le=sch.LATEST,
        description=f"With its offset; from {sch.EARLIEST:%Y-%m-%d} to {sch.LATEST:%Y-%m-%d}.",
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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

    def to_domain(self) -> Schedule:
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

    def to_domain(self) -> HttpRequest:
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

    def to_domain(self) -> Graph:
        graph = Graph(
            nodes=tuple(Node(node.name, node.event_id) for node in self.nodes),
            edges=tuple(Edge(e.source, e.target, e.kind, e.value) for e in self.edges),
        )
        graph.check()
        return graph


class ToolCallIn(Strict):
    """One tool action: a message through one of the owner's tools (see docs/tools.md)."""

    tool: str = Field(max_length=64, description="One of your tools, or a kind: slack, email...")
    action: str = Field(max_length=64, description="send_message, send_email, or send.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="The action's fields; strings may be templates."
    )

    def to_domain(self) -> ToolCall:
        return ToolCall(self.tool, self.action, self.params)


class ActionIn(Strict):
    when: ActionWhen = Field(description="success, failure, always, or condition (set true).")
    event_id: int | None = Field(
        default=None, description="The event to run, with this run's output as input."
    )
    notify: ToolCallIn | None = Field(default=None, description="Or: a message to send.")

    @model_validator(mode="after")
    def _one_thing(self) -> Any:
        if (self.event_id is None) == (self.notify is None):
            raise ValueError("an action has either event_id (an event to run) or notify")
        return self

    def to_domain(self) -> Action:
        notify = None if self.notify is None else self.notify.to_domain()
        return Action(self.when, self.event_id, notify)


# Event settings come from their one declaration (EventSettings): the API's fields are theirs.
INPUTS: dict[Any, Any] = {
    HttpRequest: HttpIn,
    Graph: WorkflowIn,
    Schedule: ScheduleIn,
    Action: ActionIn,
    ToolCall: ToolCallIn,
    timedelta: int,
}
OUTPUTS: dict[Any, Any] = {
    HttpRequest: dict[str, Any],
    Graph: dict[str, Any],
    Schedule: dict[str, Any],
    Action: dict[str, Any],
    ToolCall: dict[str, Any],
    timedelta: int,
}
SETTINGS = declared.by_name(EventSettings)


def _settings_given(model: BaseModel, names: Iterable[str]) -> dict[str, Any]:
    return {name: to_domain(SETTINGS[name], getattr(model, name)) for name in names}


class _EventCreateChecks(Strict):
    @model_validator(mode="after")
    def _one_kind(self) -> Any:
        given, values = self.model_fields_set, dict(self)
        present = {
            EventKind.SCRIPT: ("script" in given and values["script"] is not None)
            or values["language"] is not None,
            EventKind.HTTP: values["http"] is not None,
            EventKind.TOOL: values["tool_action"] is not None,
            EventKind.WORKFLOW: values["workflow"] is not None,
        }
        kinds = [kind for kind, there in present.items() if there]
        if len(kinds) > 1:
            raise ValueError("give one of: language and script, http, tool_action, or workflow")
        kind = values["kind"] if "kind" in given else None
        if kind is None:  # null, like leaving it out, means: the kind the fields give
            kind = kinds[0] if kinds else EventKind.SCRIPT
        if kind is EventKind.HTTP and values["http"] is None:
            raise ValueError("http: an HTTP-request event needs its request (method, url...)")
        if kind is EventKind.TOOL and values["tool_action"] is None:
            raise ValueError("tool_action: a tool event needs its action (tool, action, params)")
        if kind is EventKind.WORKFLOW and values["workflow"] is None:
            raise ValueError("workflow: a workflow needs its nodes (and edges)")
        if kind is EventKind.SCRIPT and not (values["script"] and values["language"]):
            raise ValueError("a script event needs a language and a script (or give http)")
        if kinds and kinds[0] is not kind:
            raise ValueError(
                f"kind is {kind.value}, but the fields given are of a {kinds[0].value}"
            )
        self.__dict__["kind"] = kind
        return self


_EventCreateFields: Any = create_model(
    "EventCreateFields",
    __base__=_EventCreateChecks,
    **declared_fields.input_fields(EventSettings, INPUTS),
)
_EventUpdateFields: Any = create_model(
    "EventUpdateFields",
    __base__=Strict,
    **declared_fields.input_fields(EventSettings, INPUTS, partial=True),
)
_EventPublicFields: Any = create_model(
    "EventSettingsPublic", **declared_fields.output_fields(EventSettings, OUTPUTS)
)


class EventCreate(_EventCreateFields):
    """A script event (``language`` and ``script``), an HTTP-request event (``http``) or a
    workflow (``workflow``), with its settings."""

    if TYPE_CHECKING:  # the fields come from EventSettings; those read by name here
        kind: EventKind
        name: str

    def to_fields(self) -> EventFields:
        given = _settings_given(self, SETTINGS)
        values = {name: value for name, value in given.items() if value is not None}
        fields: EventFields = declared.from_flat(EventSettings, values)
        return fields


class EventUpdate(_EventUpdateFields):
    """Settings to change; those left out keep their value. ``null`` removes a setting that
    can be removed (schedule, pool, max_concurrent, max_executions)."""

    def to_changes(self) -> EventChanges:
        given = self.model_fields_set
        empty = {name for name in given if getattr(self, name) is None}
        fixed = sorted(name for name in empty if not SETTINGS[name].meta.clearable)
        if fixed:
            raise InvalidInputError(f"{', '.join(fixed)} cannot be null: give a value")
        return EventChanges(frozenset(empty), **_settings_given(self, given - empty))


class EventPublic(_EventPublicFields):
    id: int
    owner_id: int
    version: int
    fire_count: int
    has_webhook: bool
    created_at: datetime
    updated_at: datetime
    paused_reason: str | None = Field(
        default=None, description="Why the scheduler paused the event by itself, if it did."
    )
    may: list[Scope] | None = Field(
        default=None,
        description="What the caller may do with it (read, run, write), by their access to it"
        " and their credential's scopes; given by GET /events/{id}.",
    )

    @classmethod
    def of(cls, event: Event, may: tuple[Scope, ...] | None = None) -> EventPublic:
        return cls(
            may=None if may is None else list(may),
            id=event.id,
            owner_id=event.owner_id,
            version=event.version,
            fire_count=event.fire_count,
            has_webhook=event.has_webhook,
            created_at=event.created_at,
            updated_at=event.updated_at,
            paused_reason=event.paused_reason,
            **declared.to_json(event),
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


class UpcomingFire(BaseModel):
    event_id: int
    event_name: str
    at: datetime = Field(description="When it fires, in UTC.")


class QueuePublic(BaseModel):
    queued: int = Field(
        description="Executions waiting for a worker (retries in their backoff too)."
    )
    running: int
    oldest_due_at: datetime | None = Field(
        description="Since when the longest-waiting queued execution has been due; None when"
        " none is queued."
    )
    oldest_wait_seconds: float | None = Field(
        description="How long it has waited so far; None when none is queued (a retry still"
        " in its backoff counts as 0)."
    )


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
    queue_wait_seconds: float | None = Field(
        default=None,
        description="Seconds from being due (queued, or the end of a retry's backoff) to a"
        " worker starting it; None until it starts.",
    )

    @classmethod
    def of(cls, execution: Execution) -> ExecutionPublic:
        shown = cls.model_validate(execution, from_attributes=True)
        # a value stored before depths were bounded must not break a listing
        update = {name: shallow(getattr(execution, name)) for name in ("input", "output")}
        return shown.model_copy(update={**update, "queue_wait_seconds": queue_wait(execution)})


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
    scopes: list[Scope] | None = Field(
        default=None,
        max_length=len(Scope),
        description=(
            "What the token may do: read, run, write, admin. Default: all the caller's"
            " credential has; never more than the user's role allows."
        ),
    )


class VariableIn(Strict):
    value: Any = Field(description="Any JSON value.")


class VariablePublic(BaseModel):
    key: str
    value: Any


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        public = cls.model_validate(token, from_attributes=True)
        public.scopes = sorted(token.scopes)
        return public


class TokenIssued(TokenPublic):
    token: str = Field(description="The secret. Shown this once: store it now.")


class UserPublic(BaseModel):
    id: int
    name: str
    role: Role
    is_admin: bool
    disabled: bool
    has_password: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            is_admin=user.is_admin,
            disabled=user.disabled_at is not None,
            has_password=user.has_password,
            created_at=user.created_at,
        )


UserName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._@-]+$",
        description="1 to 100 letters, digits, '.', '_', '-' or '@'.",
    ),
]
Password = Annotated[
    str, Field(min_length=1, max_length=1024, description="At least 10 characters.")
]


class UserCreate(Strict):
    name: UserName
    role: Role = Role.USER
    password: Password | None = Field(
        default=None, description="None: the user logs in with API tokens only."
    )


class UserChange(Strict):
    role: Role | None = None
    disabled: bool | None = Field(
        default=None, description="true: their sessions and tokens stop working at once."
    )
    password: Password | None = None


class PasswordChange(Strict):
    current_password: Password | None = Field(
        default=None, description="Your current password (needed unless you are an admin)."
    )
    password: Password


class LoginIn(Strict):
    name: UserName
    password: Password


class LoginAnswer(BaseModel):
    user: UserPublic
    csrf_token: str = Field(
        description=(
            "Send it in the X-CSRF-Token header with every request that changes something"
            " (it is also in the cronium_csrf cookie)."
        )
    )
    expires_at: datetime


class ShareIn(Strict):
    user: UserName
    role: ShareRole = ShareRole.VIEWER


class SharePublic(BaseModel):
    user: str
    role: ShareRole
    created_at: datetime

    @classmethod
    def of(cls, share: Share) -> SharePublic:
        return cls(user=share.user_name, role=share.role, created_at=share.created_at)


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    target: str | None
    address: str | None
    execution_id: int | None
    detail: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditPublic:
        return cls.model_validate(entry, from_attributes=True)


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
