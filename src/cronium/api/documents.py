"""Workflow documents: a workflow and its events as one YAML document, to keep in git.

```yaml
cronium: 1
workflow:
  name: nightly
  schedule: {kind: cron, cron: "0 3 * * *", timezone: Europe/Paris}
  nodes:
    - {name: fetch, event: fetch-data}
    - {name: load, event: load-data}
  edges:
    - {source: fetch, target: load, kind: on_success}
events:
  - {name: fetch-data, language: python, script: "...", timeout_seconds: 60}
  - {name: load-data, language: bash, script: "..."}
```

Nodes name their events; events are matched by name on import (created, or updated to match
the document). Ids, statuses, counters, webhooks and conditional actions are not part of it.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model

from cronium.api.declared import input_fields, to_domain
from cronium.api.schemas import INPUTS, SETTINGS, EdgeIn, EventCreate, EventPublic, Strict
from cronium.domain import settings as declared
from cronium.domain.event import Event, EventKind, EventSettings
from cronium.domain.workflow import NODES_MAX, Edge, Graph, Node
from cronium.errors import InvalidInputError
from cronium.storage import EventFields

M = TypeVar("M", bound=BaseModel)
FORMAT = 1
# what the document keeps of the workflow itself, and of each of its events
WORKFLOW_SETTINGS = declared.names(EventSettings, lambda meta: meta.documents == "both")
EVENT_SETTINGS = declared.names(EventSettings, lambda meta: meta.documents != "none")


class NodeDocument(Strict):
    name: str
    event: str = Field(description="The name of the event the node runs.")


_WorkflowSettings: Any = create_model(
    "WorkflowSettings",
    __base__=Strict,
    **{
        name: definition
        for name, definition in input_fields(EventSettings, INPUTS).items()
        if name in WORKFLOW_SETTINGS
    },
)


class WorkflowDocument(_WorkflowSettings):
    nodes: list[NodeDocument] = Field(max_length=NODES_MAX)
    edges: list[EdgeIn] = Field(default_factory=list)


class Document(BaseModel):
    cronium: int = FORMAT
    workflow: WorkflowDocument
    events: list[dict[str, Any]] = Field(default_factory=list)


def export_document(workflow: Event, events: dict[int, Event]) -> str:
    """The YAML document of ``workflow``, with the events its nodes run (by id)."""
    assert workflow.workflow is not None
    graph = workflow.workflow
    document = {
        "cronium": FORMAT,
        "workflow": {
            **_settings(workflow, WORKFLOW_SETTINGS),
            "nodes": [{"name": n.name, "event": events[n.event_id].name} for n in graph.nodes],
            "edges": [_edge(edge) for edge in graph.edges],
        },
        "events": [_settings(events[event_id], EVENT_SETTINGS) for event_id in graph.event_ids()],
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def parse_document(text: str) -> tuple[list[EventFields], EventFields, dict[str, str]]:
    """The events, the workflow (its nodes' event ids not known yet: 0) and, per node, the name
    of its event. InvalidInputError saying where the document is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"the document is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInputError("the document must be a mapping with 'workflow' and 'events'")
    document = _validated(Document, data, "")
    if document.cronium != FORMAT:
        raise InvalidInputError(f"cronium: format {document.cronium} is not known (use {FORMAT})")
    events = []
    for index, event in enumerate(document.events):
        parsed = _validated(EventCreate, event, f"events[{index}].")
        if parsed.kind is EventKind.WORKFLOW:
            raise InvalidInputError(f"events[{index}]: nodes run scripts and HTTP requests")
        events.append(parsed.to_fields())
    spec = document.workflow
    graph = Graph(
        nodes=tuple(Node(node.name, 0) for node in spec.nodes),
        edges=tuple(Edge(e.source, e.target, e.kind, e.value) for e in spec.edges),
    )
    graph.check()
    given = {name: to_domain(SETTINGS[name], getattr(spec, name)) for name in WORKFLOW_SETTINGS}
    workflow: EventFields = declared.from_flat(
        EventSettings, {**given, "kind": EventKind.WORKFLOW, "workflow": graph}
    )
    return events, workflow, {node.name: node.event for node in spec.nodes}


def _validated(model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InvalidInputError(f"{where}{location}: {first['msg']}") from exc


def _settings(event: Event, names: tuple[str, ...]) -> dict[str, Any]:
    """The event's settings a document keeps, as the API shows them, empty ones left out."""
    public = EventPublic.of(event).model_dump(mode="json", include=set(names))
    if public.get("schedule"):
        public["schedule"] = {k: v for k, v in public["schedule"].items() if v is not None}
    return {name: public[name] for name in names if public[name] not in (None, "", {})}


def _edge(edge: Edge) -> dict[str, Any]:
    out: dict[str, Any] = {"source": edge.source, "target": edge.target, "kind": edge.kind.value}
    if not edge.value:
        out["value"] = False
    return out
