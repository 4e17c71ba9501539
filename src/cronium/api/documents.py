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
from pydantic import BaseModel, Field, ValidationError

from cronium.api.schemas import EdgeIn, EventCreate, PolicyFields, ScheduleIn, Strict
from cronium.domain.event import Event, EventKind, ResourceLimits
from cronium.domain.schedule import schedule_to_json
from cronium.domain.workflow import NODES_MAX, Edge, Graph, Node
from cronium.errors import InvalidInputError
from cronium.storage import EventFields

M = TypeVar("M", bound=BaseModel)
FORMAT = 1


class NodeDocument(Strict):
    name: str
    event: str = Field(description="The name of the event the node runs.")


class WorkflowDocument(PolicyFields):
    name: str
    schedule: ScheduleIn | None = None
    max_attempts: int = Field(default=1, ge=1, le=100)
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
    public = {
        "name": workflow.name,
        "schedule": _schedule(workflow),
        "max_attempts": workflow.max_attempts,
        **_policy(workflow),
        "nodes": [{"name": n.name, "event": events[n.event_id].name} for n in graph.nodes],
        "edges": [_edge(edge) for edge in graph.edges],
    }
    document = {
        "cronium": FORMAT,
        "workflow": {k: v for k, v in public.items() if v is not None},
        "events": [_event(events[event_id]) for event_id in graph.event_ids()],
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
    workflow = EventFields(
        name=spec.name, language=None, script="", env={}, limits=ResourceLimits(),
        kind=EventKind.WORKFLOW, workflow=graph, max_attempts=spec.max_attempts,
        schedule=None if spec.schedule is None else spec.schedule.to_schedule(),
        policy=spec.to_policy(),
    )  # fmt: skip
    return events, workflow, {node.name: node.event for node in spec.nodes}


def _validated(model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InvalidInputError(f"{where}{location}: {first['msg']}") from exc


def _schedule(event: Event) -> dict[str, Any] | None:
    if event.schedule is None:
        return None
    return {k: v for k, v in schedule_to_json(event.schedule).items() if v is not None}


def _policy(event: Event) -> dict[str, Any]:
    policy = event.policy
    return {
        "missed_runs": policy.missed_runs.value,
        "catch_up_seconds": int(policy.catch_up.total_seconds()),
        "concurrency": policy.concurrency.value,
        "max_concurrent": policy.max_concurrent,
        "max_executions": policy.max_executions,
    }


def _edge(edge: Edge) -> dict[str, Any]:
    out: dict[str, Any] = {"source": edge.source, "target": edge.target, "kind": edge.kind.value}
    if not edge.value:
        out["value"] = False
    return out


def _event(event: Event) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": event.name,
        "language": None if event.language is None else event.language.value,
        "script": event.script or None,
        "http": None if event.http is None else event.http.to_json(),
        "env": event.env or None,
        "timeout_seconds": event.limits.timeout_seconds,
        "cpus": event.limits.cpus,
        "memory_mb": event.limits.memory_mb,
        "pids": event.limits.pids,
        "network": event.network,
        "max_attempts": event.max_attempts,
        "retry_backoff_seconds": event.retry_backoff,
        "retry_backoff_max_seconds": event.retry_backoff_max,
        "pool": event.pool,
        "schedule": _schedule(event),
        **_policy(event),
    }
    return {k: v for k, v in values.items() if v is not None}
