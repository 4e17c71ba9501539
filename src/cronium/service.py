"""The service layer: everything a user can do. REST handlers and CLI commands call this.

It checks who may do what and returns domain objects; it knows nothing of HTTP or terminals.
Objects a user may not see are reported as not found, so their existence does not leak.
"""

from __future__ import annotations

import heapq
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from cronium.accounts import AccountRules, Accounts
from cronium.audit import AuditLog, admin_use_recorder
from cronium.delivery import Sender
from cronium.domain import settings as declared
from cronium.domain.action import Action, ToolCall
from cronium.domain.audit import AuditAction
from cronium.domain.delivery import DeliveryRules
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Event, EventKind, EventSettings, EventStatus
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.schedule import Schedule
from cronium.domain.user import Scope, User
from cronium.domain.worker import WorkerInfo
from cronium.domain.workflow import Graph, NodeRun
from cronium.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from cronium.follow import LogFollowing, Message, RunFollower, RunMessage
from cronium.imports import Importer, WorkflowImport
from cronium.policy import Policy
from cronium.sharing import Sharing
from cronium.storage import EventChanges, EventFields, EventVersion, LogLine, Store
from cronium.storage.executions import QueueState
from cronium.tokens import hash_token
from cronium.tools import ToolService
from cronium.variables import VariableService

Clock = Callable[[], datetime]
WEBHOOK_PREFIX = "whk_"


def utcnow() -> datetime:
    """The current time, time-zone aware in UTC."""
    return datetime.now(UTC)


class Service:
    """Use cases over the store, for one deployment."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utcnow,
        on_enqueue: Callable[[], None] | None = None,
        allow_egress: bool = False,
        rules: AccountRules | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.store = store
        self.allow_egress = allow_egress
        self.clock = clock
        self._on_enqueue = on_enqueue
        self.policy = Policy(store, on_admin_use=admin_use_recorder(store, clock))
        self.accounts = Accounts(store, clock, self.policy, rules)
        self.audit = AuditLog(store, clock, self.policy, self.accounts.rules.session_idle)
        self.sharing = Sharing(store, clock, self.policy, self.accounts)
        self.variables = VariableService(store, clock)
        sender = sender or Sender(store, EgressPolicy(allow_egress), DeliveryRules(), clock)
        self.tools = ToolService(store, clock, self.policy, sender)
        self.following = LogFollowing(store)

    async def authenticate(self, secret: str) -> User:
        """See :meth:`Accounts.authenticate`."""
        return await self.accounts.authenticate(secret)

    def notify_on_enqueue(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each enqueue (an in-process worker wakes up at once)."""
        self._on_enqueue = callback

    # events

    async def create_event(self, user: User, fields: EventFields) -> Event:
        self.policy.require(user, Scope.WRITE, "create events")
        self.check_network(fields.network)
        await self._check_actions(user, fields.actions)
        await self.tools.check_calls(user.id, fields.actions, fields.tool_action)
        if fields.workflow is not None:
            await self._check_nodes(user, fields.workflow)
        event = await self.store.events.create(user.id, fields, self.clock())
        await self._audit_event(AuditAction.EVENT_CREATE, user, event)
        return event

    async def get_event(self, user: User, event_id: int, need: Scope = Scope.READ) -> Event:
        """The event, if the caller may ``need`` it (see :class:`Policy`)."""
        return await self.policy.event(user, event_id, need)

    async def event_and_rights(self, user: User, event_id: int) -> tuple[Event, tuple[Scope, ...]]:
        """The event, if the caller may read it, and what they may do with it."""
        event = await self.get_event(user, event_id)
        return event, await self.policy.may(user, event)

    async def list_events(self, user: User, tags: tuple[str, ...] = ()) -> list[Event]:
        """The events the user can see (their own, those shared with them; an admin's: all);
        with ``tags``, only those that have every one."""
        self.policy.require(user, Scope.READ, "list events")
        if user.is_admin and user.may(Scope.ADMIN):
            events = await self.store.events.all(None, tags=tags)
        else:
            own = await self.store.events.all(user.id, tags=tags)
            shared = await self.store.shares.events_for(user.id)
            events = sorted(
                own + [e for e in shared if set(tags) <= set(e.tags)], key=lambda e: e.id
            )
        return events

    async def own_events(self, user: User) -> list[Event]:
        """The user's own events (an administrator's too, not everyone's)."""
        return await self.store.events.all(user.id)

    async def update_event(self, user: User, event_id: int, changes: EventChanges) -> Event:
        event = await self.get_event(user, event_id, Scope.WRITE)
        self.check_network(changes.get("network"))
        await self._check_actions(user, changes.get("actions") or ())
        await self.tools.check_calls(
            event.owner_id, changes.get("actions") or (), changes.get("tool_action")
        )
        if changes.get("workflow") is not None:
            await self._check_nodes(user, changes.get("workflow"))

        # on the event as it is, in the update's transaction
        changed = await self.store.events.update(
            event_id, changes, self.clock(), lambda event: _check_kind_of_change(event, changes)
        )
        fields = sorted(changes.values.keys() | changes.clear)
        await self._audit_event(AuditAction.EVENT_CHANGE, user, changed, fields=fields)
        return changed

    async def _check_nodes(self, user: User, graph: Graph) -> None:
        """Every node runs an event of the caller that is a script or an HTTP request."""
        for event_id in graph.event_ids():
            try:
                event = await self.get_event(user, event_id, Scope.WRITE)
            except (NotFoundError, PermissionDeniedError) as exc:
                names = [node.name for node in graph.nodes if node.event_id == event_id]
                raise InvalidInputError(
                    f"workflow node {names[0]!r}: no event has id {event_id} (a node runs an "
                    "event of yours)"
                ) from exc
            if event.kind is EventKind.WORKFLOW:
                raise InvalidInputError(
                    f"workflow node runs event {event_id}, which is a workflow itself: "
                    "nodes run scripts and HTTP requests"
                )

    async def list_event_versions(self, user: User, event_id: int) -> list[EventVersion]:
        await self.get_event(user, event_id)
        return await self.store.events.versions(event_id)

    async def get_event_version(self, user: User, event_id: int, version: int) -> EventVersion:
        await self.get_event(user, event_id)
        return await self.store.events.version(event_id, version)

    async def restore_event_version(self, user: User, event_id: int, version: int) -> Event:
        """Bring back the script and settings of ``version`` (a new version)."""
        event = await self.get_event(user, event_id, Scope.WRITE)
        old = await self.store.events.version(event_id, version)
        self.check_network(old.settings.get("network"))
        actions = tuple(Action.from_json(a) for a in old.settings.get("actions") or ())
        await self._check_actions(user, actions)
        stored_call = old.settings.get("tool_action")
        call = None if stored_call is None else ToolCall.from_json(stored_call)
        await self.tools.check_calls(event.owner_id, actions, call)
        restored = await self.store.events.restore(event_id, version, self.clock())
        await self._audit_event(AuditAction.EVENT_RESTORE, user, restored, restored_from=version)
        return restored

    async def _check_actions(self, user: User, actions: tuple[Action, ...]) -> None:
        for action in actions:
            if action.event_id is None:
                continue  # a message: see ToolService.check_calls
            try:
                await self.get_event(user, action.event_id, Scope.WRITE)
            except (NotFoundError, PermissionDeniedError) as exc:
                raise InvalidInputError(
                    f"actions: no event has id {action.event_id} (an action runs an event of yours)"
                ) from exc

    async def enable_webhook(self, user: User, event_id: int) -> str:
        """A new webhook key for the event (any earlier one stops working); shown this once."""
        event = await self.get_event(user, event_id, Scope.WRITE)
        key = WEBHOOK_PREFIX + secrets.token_urlsafe(32)
        await self.store.events.set_webhook(event_id, hash_token(key))
        await self._audit_event(AuditAction.WEBHOOK_CREATE, user, event)
        return key

    async def disable_webhook(self, user: User, event_id: int) -> None:
        event = await self.get_event(user, event_id, Scope.WRITE)
        await self.store.events.set_webhook(event_id, None)
        await self._audit_event(AuditAction.WEBHOOK_DELETE, user, event)

    async def trigger_webhook(self, key: str, body: Any) -> Execution:
        """Queue a run of the event this webhook key belongs to, with ``body`` as its input."""
        event = await self.store.events.find_webhook(hash_token(key))
        if event is None:
            raise NotFoundError("no webhook has this key (it may have been rotated or removed)")
        if event.status is EventStatus.ARCHIVED:
            raise ConflictError(f"event {event.id} is archived: its webhook does not run it")
        execution = await self.store.queue.enqueue(
            event.id, input=body, now=self.clock(), trigger="webhook"
        )
        if self._on_enqueue is not None:
            self._on_enqueue()
        return execution

    def check_network(self, network: str | None) -> None:
        """InvalidInputError if this server does not let events have ``network``."""
        refusal = EgressPolicy(allow_egress=self.allow_egress).network_refusal(network)
        if refusal is not None:
            raise InvalidInputError(refusal)

    async def set_event_status(self, user: User, event_id: int, status: EventStatus) -> Event:
        """Pause or resume (re-activate) an event; resuming starts its fire count again."""
        await self.get_event(user, event_id, Scope.WRITE)
        return await self.store.events.update(event_id, EventChanges(status=status), self.clock())

    async def next_fires(self, user: User, event_id: int, count: int) -> list[datetime]:
        """The event's next fire times (none without a schedule, or unless active)."""
        event = await self.get_event(user, event_id)
        if event.schedule is None or event.status is not EventStatus.ACTIVE:
            return []
        return event.schedule.next_fires(self.clock(), count)

    def preview_fires(self, schedule: Schedule, count: int) -> list[datetime]:
        """The next fire times of a schedule not saved yet."""
        return schedule.next_fires(self.clock(), count)

    async def delete_event(self, user: User, event_id: int) -> None:
        event = await self.get_event(user, event_id, Scope.WRITE)
        for workflow in await self.store.events.all(event.owner_id):
            if workflow.workflow is not None and event_id in workflow.workflow.event_ids():
                raise ConflictError(
                    f"event {event_id} is a node of workflow {workflow.id} ({workflow.name}): "
                    "take it out of the workflow first"
                )
        await self.store.events.delete(event_id)
        await self._audit_event(AuditAction.EVENT_DELETE, user, event)

    async def _audit_event(
        self, action: AuditAction, user: User, event: Event, **detail: Any
    ) -> None:
        """Record a change of an event (a workflow is one): who, which, its name and kind."""
        await self.store.audit.record(
            action,
            at=self.clock(),
            actor_id=user.id,
            actor=user.name,
            target=f"event {event.id}",
            detail={"name": event.name, "kind": event.kind.value, **detail},
        )

    # workflows

    async def list_workflows(self, user: User) -> list[Event]:
        return [e for e in await self.list_events(user) if e.kind is EventKind.WORKFLOW]

    async def get_workflow(self, user: User, workflow_id: int, need: Scope = Scope.READ) -> Event:
        event = await self.policy.event(user, workflow_id, need, noun="workflow")
        if event.kind is not EventKind.WORKFLOW:
            raise NotFoundError(
                f"no workflow has id {workflow_id} (event {workflow_id} is not one)"
            )
        return event

    async def list_workflow_runs(self, user: User, workflow_id: int, limit: int) -> list[Execution]:
        await self.get_workflow(user, workflow_id)
        return await self.store.executions.latest(
            event_id=workflow_id, visible_to=None, limit=limit
        )

    async def get_workflow_run(self, user: User, run_id: int) -> tuple[Execution, list[NodeRun]]:
        """A workflow run (an execution of a workflow) with its nodes."""
        run = await self._workflow_run(user, run_id)
        return run, await self.store.runs.nodes(run_id)

    async def cancel_workflow_run(self, user: User, run_id: int) -> tuple[Execution, list[NodeRun]]:
        """Cancel a run: its nodes not started never start, running ones are stopped."""
        await self._workflow_run(user, run_id, Scope.RUN)
        run = await self.store.queue.cancel(run_id, self.clock())
        return run, await self.store.runs.nodes(run_id)

    async def _workflow_run(self, user: User, run_id: int, need: Scope = Scope.READ) -> Execution:
        run = await self.get_execution(user, run_id, need)
        event = await self.store.events.get(run.event_id)
        if event.kind is not EventKind.WORKFLOW:
            raise NotFoundError(f"execution {run_id} is not a workflow run")
        return run

    async def delete_workflow(self, user: User, workflow_id: int) -> Event:
        """Delete a workflow with its runs; the events its nodes run are kept. The workflow as
        it was; ConflictError while a run of it is going on."""
        workflow = await self.get_workflow(user, workflow_id, Scope.WRITE)
        try:
            await self.store.events.delete(workflow_id)
        except ConflictError as exc:
            raise ConflictError(
                f"workflow {workflow_id} ({workflow.name}) has a run going on: cancel it or "
                "wait for it to end, then delete the workflow"
            ) from exc
        await self._audit_event(AuditAction.EVENT_DELETE, user, workflow)
        return workflow

    async def import_workflow(
        self,
        user: User,
        events: list[EventFields],
        workflow: EventFields,
        nodes: dict[str, str],
        *,
        dry_run: bool = False,
    ) -> WorkflowImport:
        """See :meth:`cronium.imports.Importer.run`."""
        self.policy.require(user, Scope.WRITE, "import workflows")
        return await Importer(self).run(user, events, workflow, nodes, dry_run=dry_run)

    async def run_event(self, user: User, event_id: int, input: Any = None) -> Execution:
        """Queue a run of the event now, with ``input`` for the script."""
        await self.get_event(user, event_id, Scope.RUN)
        execution = await self.store.queue.enqueue(event_id, input=input, now=self.clock())
        if self._on_enqueue is not None:
            self._on_enqueue()
        return execution

    # executions

    async def get_execution(
        self, user: User, execution_id: int, need: Scope = Scope.READ
    ) -> Execution:
        """The execution, if the caller may ``need`` its event."""
        try:
            execution = await self.store.executions.get(execution_id)
            event = await self.store.events.get(execution.event_id)
        except NotFoundError:
            raise NotFoundError(f"no execution has id {execution_id}") from None
        await self.policy.check(user, event, need, noun="execution", ident=execution_id)
        return execution

    async def list_executions(
        self,
        user: User,
        *,
        event_id: int | None,
        limit: int,
        before_id: int | None = None,
        statuses: tuple[ExecutionStatus, ...] = (),
    ) -> list[Execution]:
        if event_id is not None:
            await self.get_event(user, event_id)
        return await self.store.executions.latest(
            event_id=event_id,
            visible_to=self._executions_of(user, "list executions"),
            limit=limit,
            before_id=before_id,
            statuses=statuses,
        )

    async def last_executions(self, user: User, limit: int) -> list[Execution]:
        """The newest execution of each event the user can see, newest first."""
        visible = self._executions_of(user, "list executions")
        return await self.store.executions.last_per_event(visible_to=visible, limit=limit)

    async def queue_state(self, user: User) -> QueueState:
        """Queued and running executions of the events the user can see (an admin's: all)."""
        return await self.store.executions.waiting(
            visible_to=self._executions_of(user, "see the queue")
        )

    def _executions_of(self, user: User, doing: str) -> int | None:
        """Whose executions the user may list: None for all (an admin with the admin scope),
        else the user's id (their events and those shared with them)."""
        self.policy.require(user, Scope.READ, doing)
        return None if user.is_admin and user.may(Scope.ADMIN) else user.id

    async def upcoming_fires(self, user: User, limit: int) -> list[tuple[Event, datetime]]:
        """The next ``limit`` fires of all the active scheduled events the user can see, in
        time order."""
        now = self.clock()
        fires = [
            (at, event.id, event)
            for event in await self.list_events(user)
            for at in _next_fires(event, now, limit)
        ]
        return [(event, at) for at, _, event in heapq.nsmallest(limit, fires)]

    async def cancel_execution(self, user: User, execution_id: int) -> Execution:
        """Cancel at once if queued; if running, its worker stops it (within about a second)."""
        await self.get_execution(user, execution_id, Scope.RUN)
        return await self.store.queue.cancel(execution_id, self.clock())

    async def list_workers(self, user: User) -> list[WorkerInfo]:
        await self.policy.require_admin(user, "list workers")
        return await self.store.workers.all()

    async def read_logs(
        self, user: User, execution_id: int, after_seq: int = -1, limit: int | None = None
    ) -> list[LogLine]:
        await self.get_execution(user, execution_id)
        return await self.store.logs.read(execution_id, after_seq=after_seq, limit=limit)

    async def follow_logs(
        self, user: User, execution_id: int, after_seq: int = -1
    ) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """The execution's lines after ``after_seq`` as they are stored, then its end (see
        cronium.follow); NotFoundError before anything if the caller may not read it."""
        await self.get_execution(user, execution_id)
        return self.following.follow(execution_id, after_seq)

    async def follow_run(
        self, user: User, run_id: int, after: dict[int, int] | None = None
    ) -> AsyncGenerator[RunMessage]:
        """A workflow run's node changes and its nodes' lines as they come (after ``after``,
        the last line of each execution a resuming follower has), then its end (see
        cronium.follow.RunFollower); NotFoundError before anything if the caller may not
        read it."""
        await self._workflow_run(user, run_id)
        return RunFollower(self.following, run_id, after=after).messages()


def _check_kind_of_change(event: Event, changes: EventChanges) -> None:
    """InvalidInputError if ``changes`` give settings the event's kind does not have."""
    code = changes.get("script") or changes.get("language")
    if event.kind is EventKind.HTTP and code:
        raise InvalidInputError(
            f"event {event.id} makes an HTTP request: it has no script or language "
            "(change its http settings)"
        )
    if event.kind is not EventKind.HTTP and changes.get("http") is not None:
        raise InvalidInputError(
            f"event {event.id} is a {event.kind.value} event: it has no http settings "
            "(create an HTTP-request event instead)"
        )
    if event.kind is not EventKind.WORKFLOW and changes.get("workflow") is not None:
        raise InvalidInputError(
            f"event {event.id} is a {event.kind.value} event: it has no graph (create a "
            "workflow instead)"
        )
    if event.kind is EventKind.WORKFLOW and code:
        raise InvalidInputError(f"event {event.id} is a workflow: it has no script")
    if event.kind is not EventKind.TOOL and changes.get("tool_action") is not None:
        raise InvalidInputError(
            f"event {event.id} is a {event.kind.value} event: it has no tool_action (create a "
            "tool event instead)"
        )
    if event.kind is EventKind.TOOL and code:
        raise InvalidInputError(
            f"event {event.id} sends a message through a tool: it has no script (change its "
            "tool_action)"
        )


SETTINGS = declared.by_name(EventSettings)
# The settings a workflow document keeps of an event, and of the workflow (with its graph):
# an import compares and changes those only; the others (a status, actions) stay as they are.


def _next_fires(event: Event, now: datetime, count: int) -> list[datetime]:
    """An active event's next fires; none for one paused, unscheduled, or whose schedule has
    no computable next fire (the scheduler sets such an event aside)."""
    if event.schedule is None or event.status is not EventStatus.ACTIVE:
        return []
    try:
        return event.schedule.next_fires(now, count)
    except InvalidInputError:
        return []
