"""Importing a workflow document: its events and the workflow created, changed to match (a
new version) or left alone, all checked before anything is written; a dry run only says what
would be done."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Protocol

from cronium.domain import settings as declared
from cronium.domain.event import Event, EventKind, EventSettings
from cronium.domain.user import User
from cronium.domain.workflow import Graph, Node
from cronium.errors import ConflictError, InvalidInputError
from cronium.storage import EventChanges, EventFields


class EventKeeper(Protocol):
    """What an import needs of the service: the user's events, and its checked create,
    update and network rule."""

    async def own_events(self, user: User) -> list[Event]: ...

    async def create_event(self, user: User, fields: EventFields) -> Event: ...

    async def update_event(self, user: User, event_id: int, changes: EventChanges) -> Event: ...

    def check_network(self, network: str | None) -> None: ...


SETTINGS = declared.by_name(EventSettings)
EVENT_DOCUMENTED = frozenset(declared.names(EventSettings, lambda meta: meta.documents != "none"))
WORKFLOW_DOCUMENTED = frozenset(
    declared.names(EventSettings, lambda meta: meta.documents == "both")
) | {"workflow"}
ImportOutcome = Literal["created", "changed", "unchanged"]


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did (or, on a dry run, would do) to one event or workflow."""

    name: str
    kind: EventKind
    outcome: ImportOutcome
    event_id: int | None  # None: not created (a dry run)
    old_version: int | None  # None: created
    version: int  # after the import


@dataclass(frozen=True, slots=True)
class WorkflowImport:
    """An import's report: each of the document's events in its order, then the workflow,
    which is ``stored`` as the import left it (None on a dry run: nothing was written)."""

    events: tuple[Imported, ...]
    workflow: Imported
    stored: Event | None
    dry_run: bool


def changes_to_match(current: Event, fields: EventFields) -> EventChanges | None:
    """The changes that make ``current`` match ``fields`` in the settings a document keeps
    of its kind (compared as they are stored, in JSON); None if it matches already. A setting
    that can be removed (a schedule, a pool) and that ``fields`` lack is removed."""
    kept = WORKFLOW_DOCUMENTED if current.kind is EventKind.WORKFLOW else EVENT_DOCUMENTED
    stored, wanted = declared.to_json(current), declared.to_json(fields)
    differing = [name for name in SETTINGS if name in kept and stored[name] != wanted[name]]
    if not differing:
        return None
    values = declared.to_flat(fields)
    return EventChanges(
        frozenset(name for name in differing if values[name] is None),
        **{name: values[name] for name in differing if values[name] is not None},
    )


def _versioned(changes: EventChanges) -> bool:
    """Whether ``changes`` make a new version (a change of a setting that versions keep)."""
    return any(SETTINGS[name].meta.versioned for name in {*changes.values, *changes.clear})


class Importer:
    """Imports workflow documents for the service's users."""

    def __init__(self, service: EventKeeper) -> None:
        self.service = service

    async def run(
        self,
        user: User,
        events: list[EventFields],
        workflow: EventFields,
        nodes: dict[str, str],
        *,
        dry_run: bool = False,
    ) -> WorkflowImport:
        """Create, change or leave alone (matched by name) ``events``, then the workflow,
        whose node ``n`` runs the event named ``nodes[n]`` (one of ``events`` or an event the
        user has). One that matches the document in every setting a document keeps is left
        alone: no new version. What would stop the import half way is checked before anything
        is written; on a ``dry_run`` nothing is, and the report says what would be."""
        mine = {event.name: event for event in await self.service.own_events(user)}
        self._check(mine, events, workflow, nodes)
        ids = {name: event.id for name, event in mine.items()}
        done = []
        for fields in events:
            _, imported = await self._upsert(user, mine.get(fields.name), fields, dry_run)
            done.append(imported)
            # an event a dry run does not create has no id: one no other event has stands in
            ids[fields.name] = -len(done) if imported.event_id is None else imported.event_id
        assert workflow.workflow is not None
        graph = Graph(
            nodes=tuple(Node(n.name, ids[nodes[n.name]]) for n in workflow.workflow.nodes),
            edges=workflow.workflow.edges,
        )
        fields = dataclasses.replace(workflow, workflow=graph)
        stored, imported = await self._upsert(user, mine.get(workflow.name), fields, dry_run)
        return WorkflowImport(tuple(done), imported, stored, dry_run)

    def _check(
        self,
        mine: dict[str, Event],
        events: list[EventFields],
        workflow: EventFields,
        nodes: dict[str, str],
    ) -> None:
        """Refuse an import that could not be done to the end: a name taken by an event of
        another kind, a network the server does not allow, nodes naming events that do not
        exist or are workflows themselves."""
        for fields in (*events, workflow):
            current = mine.get(fields.name)
            if current is not None and current.kind is not fields.kind:
                raise ConflictError(
                    f"an event named {fields.name!r} exists already and is a "
                    f"{current.kind.value} event, not a {fields.kind.value} one: rename one of "
                    "them"
                )
            self.service.check_network(fields.network)
        kinds = {name: event.kind for name, event in mine.items()}
        kinds |= {fields.name: fields.kind for fields in events}
        missing = sorted({name for name in nodes.values() if name not in kinds})
        if missing:
            raise InvalidInputError(
                f"workflow nodes name unknown events: {', '.join(missing)} (give them under "
                "events, or create them first)"
            )
        for node, name in nodes.items():
            if kinds[name] is EventKind.WORKFLOW:
                raise InvalidInputError(
                    f"workflow node {node!r} runs {name!r}, which is a workflow itself: nodes "
                    "run scripts and HTTP requests"
                )

    async def _upsert(
        self, user: User, current: Event | None, fields: EventFields, dry_run: bool
    ) -> tuple[Event | None, Imported]:
        """Create the event of ``fields``, change ``current`` to match it (a new version) or
        leave it alone if it does; on a ``dry_run``, only say which. The event after (None on a
        dry run) and what was done."""
        if current is None:
            made = None if dry_run else await self.service.create_event(user, fields)
            made_id = None if made is None else made.id
            return made, Imported(fields.name, fields.kind, "created", made_id, None, 1)
        before = current.version
        changes = changes_to_match(current, fields)
        if changes is None:
            left = Imported(current.name, current.kind, "unchanged", current.id, before, before)
            return None if dry_run else current, left
        if dry_run:
            after = before + (1 if _versioned(changes) else 0)
            return None, Imported(current.name, current.kind, "changed", current.id, before, after)
        updated = await self.service.update_event(user, current.id, changes)
        changed = Imported(
            current.name, current.kind, "changed", current.id, before, updated.version
        )
        return updated, changed
