"""The service layer: everything a user can do. REST handlers and CLI commands call this.

It checks who may do what and returns domain objects; it knows nothing of HTTP or terminals.
Objects a user may not see are reported as not found, so their existence does not leak.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cronium.domain import settings as declared
from cronium.domain.action import Action
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Event, EventKind, EventSettings, EventStatus
from cronium.domain.execution import Execution
from cronium.domain.schedule import Schedule
from cronium.domain.user import ApiToken, Role, User
from cronium.domain.worker import WorkerInfo
from cronium.domain.workflow import Graph, NodeRun
from cronium.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from cronium.imports import Importer, WorkflowImport
from cronium.storage import EventChanges, EventFields, EventVersion, LogLine, Store
from cronium.tokens import display_prefix, hash_token, new_token_secret
from cronium.variables import VariableService

Clock = Callable[[], datetime]
# A token's last use is written at most this often: not one write per request.
TOUCH_INTERVAL = timedelta(minutes=1)
WEBHOOK_PREFIX = "whk_"


def utcnow() -> datetime:
    """The current time, time-zone aware in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: ``secret`` is shown this once and never again."""

    token: ApiToken
    secret: str


class Service:
    """Use cases over the store, for one deployment."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utcnow,
        on_enqueue: Callable[[], None] | None = None,
        allow_egress: bool = False,
    ) -> None:
        self.store = store
        self.allow_egress = allow_egress
        self.clock = clock
        self._on_enqueue = on_enqueue
        self.variables = VariableService(store, clock)

    def notify_on_enqueue(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each enqueue (an in-process worker wakes up at once)."""
        self._on_enqueue = callback

    # users and tokens

    async def create_admin(self, name: str) -> tuple[User, IssuedToken]:
        """A new administrator with a first API token."""
        user = await self.store.users.create(name, role=Role.ADMIN, now=self.clock())
        return user, await self.issue_token(user, name="initial", expires_in=None)

    async def bootstrap_admin(self, name: str = "admin") -> tuple[User, IssuedToken] | None:
        """On a fresh database, create the first administrator; else do nothing."""
        if await self.store.users.count():
            return None
        return await self.create_admin(name)

    async def authenticate(self, secret: str) -> User:
        """The user an API token belongs to; AuthenticationError if it is not usable."""
        found = await self.store.tokens.find(hash_token(secret))
        if found is None:
            raise AuthenticationError("the API token is not valid")
        token, user = found
        now = self.clock()
        if token.revoked_at is not None:
            raise AuthenticationError(f"the API token {token.prefix}... has been revoked")
        if not token.is_usable(now):
            raise AuthenticationError(f"the API token {token.prefix}... has expired")
        if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
            await self.store.tokens.touch(token.id, now)
        return user

    async def issue_token(
        self, user: User, *, name: str, expires_in: timedelta | None
    ) -> IssuedToken:
        secret = new_token_secret()
        now = self.clock()
        token = await self.store.tokens.create(
            user.id,
            name=name,
            token_hash=hash_token(secret),
            prefix=display_prefix(secret),
            now=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        return IssuedToken(token=token, secret=secret)

    async def issue_token_for(
        self, user_name: str, *, name: str, expires_in: timedelta | None
    ) -> IssuedToken:
        """A new token for the user named ``user_name`` (an operator's way back in for a user
        who revoked their last token)."""
        user = await self.store.users.by_name(user_name)
        return await self.issue_token(user, name=name, expires_in=expires_in)

    async def list_tokens(self, user: User) -> list[ApiToken]:
        return await self.store.tokens.all(user.id)

    async def revoke_token(self, user: User, token_id: int) -> ApiToken:
        return await self.store.tokens.revoke(user.id, token_id, self.clock())

    # events

    async def create_event(self, user: User, fields: EventFields) -> Event:
        self.check_network(fields.network)
        await self._check_actions(user, fields.actions)
        if fields.workflow is not None:
            await self._check_nodes(user, fields.workflow)
        return await self.store.events.create(user.id, fields, self.clock())

    async def get_event(self, user: User, event_id: int) -> Event:
        event = await self.store.events.get(event_id)
        if not _may_see(user, event.owner_id):
            raise NotFoundError(f"no event has id {event_id}")
        return event

    async def list_events(self, user: User, tags: tuple[str, ...] = ()) -> list[Event]:
        """The events the user can see; with ``tags``, only those that have every one."""
        return await self.store.events.all(None if user.is_admin else user.id, tags=tags)

    async def own_events(self, user: User) -> list[Event]:
        """The user's own events (an administrator's too, not everyone's)."""
        return await self.store.events.all(user.id)

    async def update_event(self, user: User, event_id: int, changes: EventChanges) -> Event:
        self.check_network(changes.get("network"))
        await self._check_actions(user, changes.get("actions") or ())
        if changes.get("workflow") is not None:
            await self._check_nodes(user, changes.get("workflow"))

        def check(event: Event) -> None:  # on the event as it is, in the update's transaction
            if not _may_see(user, event.owner_id):
                raise NotFoundError(f"no event has id {event_id}")
            _check_kind_of_change(event, changes)

        return await self.store.events.update(event_id, changes, self.clock(), check)

    async def _check_nodes(self, user: User, graph: Graph) -> None:
        """Every node runs an event of the caller that is a script or an HTTP request."""
        for event_id in graph.event_ids():
            try:
                event = await self.get_event(user, event_id)
            except NotFoundError as exc:
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
        await self.get_event(user, event_id)
        old = await self.store.events.version(event_id, version)
        self.check_network(old.settings.get("network"))
        actions = tuple(Action.from_json(a) for a in old.settings.get("actions") or ())
        await self._check_actions(user, actions)
        return await self.store.events.restore(event_id, version, self.clock())

    async def _check_actions(self, user: User, actions: tuple[Action, ...]) -> None:
        for action in actions:
            try:
                await self.get_event(user, action.event_id)
            except NotFoundError as exc:
                raise InvalidInputError(
                    f"actions: no event has id {action.event_id} (an action runs an event of yours)"
                ) from exc

    async def enable_webhook(self, user: User, event_id: int) -> str:
        """A new webhook key for the event (any earlier one stops working); shown this once."""
        await self.get_event(user, event_id)
        key = WEBHOOK_PREFIX + secrets.token_urlsafe(32)
        await self.store.events.set_webhook(event_id, hash_token(key))
        return key

    async def disable_webhook(self, user: User, event_id: int) -> None:
        await self.get_event(user, event_id)
        await self.store.events.set_webhook(event_id, None)

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
        await self.get_event(user, event_id)
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
        event = await self.get_event(user, event_id)
        for workflow in await self.store.events.all(event.owner_id):
            if workflow.workflow is not None and event_id in workflow.workflow.event_ids():
                raise ConflictError(
                    f"event {event_id} is a node of workflow {workflow.id} ({workflow.name}): "
                    "take it out of the workflow first"
                )
        await self.store.events.delete(event_id)

    # workflows

    async def list_workflows(self, user: User) -> list[Event]:
        return [e for e in await self.list_events(user) if e.kind is EventKind.WORKFLOW]

    async def get_workflow(self, user: User, workflow_id: int) -> Event:
        event = await self.get_event(user, workflow_id)
        if event.kind is not EventKind.WORKFLOW:
            raise NotFoundError(
                f"no workflow has id {workflow_id} (event {workflow_id} is not one)"
            )
        return event

    async def list_workflow_runs(self, user: User, workflow_id: int, limit: int) -> list[Execution]:
        await self.get_workflow(user, workflow_id)
        return await self.store.executions.latest(event_id=workflow_id, owner_id=None, limit=limit)

    async def get_workflow_run(self, user: User, run_id: int) -> tuple[Execution, list[NodeRun]]:
        """A workflow run (an execution of a workflow) with its nodes."""
        run = await self._workflow_run(user, run_id)
        return run, await self.store.runs.nodes(run_id)

    async def cancel_workflow_run(self, user: User, run_id: int) -> tuple[Execution, list[NodeRun]]:
        """Cancel a run: its nodes not started never start, running ones are stopped."""
        await self._workflow_run(user, run_id)
        run = await self.store.queue.cancel(run_id, self.clock())
        return run, await self.store.runs.nodes(run_id)

    async def _workflow_run(self, user: User, run_id: int) -> Execution:
        run = await self.get_execution(user, run_id)
        event = await self.store.events.get(run.event_id)
        if event.kind is not EventKind.WORKFLOW:
            raise NotFoundError(f"execution {run_id} is not a workflow run")
        return run

    async def delete_workflow(self, user: User, workflow_id: int) -> Event:
        """Delete a workflow with its runs; the events its nodes run are kept. The workflow as
        it was; ConflictError while a run of it is going on."""
        workflow = await self.get_workflow(user, workflow_id)
        try:
            await self.store.events.delete(workflow_id)
        except ConflictError as exc:
            raise ConflictError(
                f"workflow {workflow_id} ({workflow.name}) has a run going on: cancel it or "
                "wait for it to end, then delete the workflow"
            ) from exc
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
        return await Importer(self).run(user, events, workflow, nodes, dry_run=dry_run)

    async def run_event(self, user: User, event_id: int, input: Any = None) -> Execution:
        """Queue a run of the event now, with ``input`` for the script."""
        await self.get_event(user, event_id)
        execution = await self.store.queue.enqueue(event_id, input=input, now=self.clock())
        if self._on_enqueue is not None:
            self._on_enqueue()
        return execution

    # executions

    async def get_execution(self, user: User, execution_id: int) -> Execution:
        execution = await self.store.executions.get(execution_id)
        if not user.is_admin:
            event = await self.store.events.get(execution.event_id)
            if event.owner_id != user.id:
                raise NotFoundError(f"no execution has id {execution_id}")
        return execution

    async def list_executions(
        self, user: User, *, event_id: int | None, limit: int
    ) -> list[Execution]:
        if event_id is not None:
            await self.get_event(user, event_id)
        owner = None if user.is_admin else user.id
        return await self.store.executions.latest(event_id=event_id, owner_id=owner, limit=limit)

    async def cancel_execution(self, user: User, execution_id: int) -> Execution:
        """Cancel at once if queued; if running, its worker stops it (within about a second)."""
        await self.get_execution(user, execution_id)
        return await self.store.queue.cancel(execution_id, self.clock())

    async def list_workers(self, user: User) -> list[WorkerInfo]:
        if not user.is_admin:
            raise PermissionDeniedError("only administrators may list workers")
        return await self.store.workers.all()

    async def read_logs(
        self, user: User, execution_id: int, after_seq: int = -1, limit: int | None = None
    ) -> list[LogLine]:
        await self.get_execution(user, execution_id)
        return await self.store.logs.read(execution_id, after_seq=after_seq, limit=limit)


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


SETTINGS = declared.by_name(EventSettings)
# The settings a workflow document keeps of an event, and of the workflow (with its graph):
# an import compares and changes those only; the others (a status, actions) stay as they are.


def _may_see(user: User, owner_id: int) -> bool:
    return user.is_admin or user.id == owner_id
