"""Workflow documents: a workflow and its events as one YAML document, to keep in git.

```yaml
cronium: 1
workflow:
  name: nightly
  schedule: {kind: cron, cron: 0 3 * * *, timezone: Europe/Paris}
  nodes:
    - {name: fetch, event: fetch-data}
    - {name: load, event: load-data}
  edges:
    - {source: fetch, target: load, kind: on_success}
events:
  - name: fetch-data
    language: python
    script: |
      import cronium
      cronium.output({"rows": 42})
    timeout_seconds: 60
  - name: load-data
    language: bash
    script: echo loaded
```

Nodes name their events; events are matched by name on import (created, changed to match the
document, or left alone when they match it already). Ids, statuses, counters, webhooks and
conditional actions are not part of it.

An export is written as a person would write it, so that its diffs in git read well: settings
in the order ``EventSettings`` declares them, those equal to their declared default left out,
scripts (every string of several lines) as literal blocks, other strings plain where YAML
allows, nodes, edges, schedules and tags on one line each.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model

from cronium.api.declared import input_fields, to_domain
from cronium.api.schemas import INPUTS, SETTINGS, EdgeIn, EventCreate, EventPublic, Strict
from cronium.domain import settings as declared
from cronium.domain.event import Event, EventKind, EventSettings
from cronium.domain.workflow import NODES_MAX, Edge, Graph, Node
from cronium.errors import InvalidInputError
from cronium.imports import Imported, WorkflowImport
from cronium.storage import EventFields

M = TypeVar("M", bound=BaseModel)
FORMAT = 1
# what the document keeps of the workflow itself, and of each of its events
WORKFLOW_SETTINGS = declared.names(EventSettings, lambda meta: meta.documents == "both")
EVENT_SETTINGS = declared.names(EventSettings, lambda meta: meta.documents != "none")
# values written on one line, as a person writes them: {kind: cron, cron: ...}, [db, nightly]
ONE_LINE = frozenset({"schedule", "tags"})


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
    if TYPE_CHECKING:  # the settings come from EventSettings; those read by name here
        name: str

    nodes: list[NodeDocument] = Field(max_length=NODES_MAX)
    edges: list[EdgeIn] = Field(default_factory=list, max_length=4 * NODES_MAX)


class Document(BaseModel):
    cronium: int = FORMAT
    workflow: WorkflowDocument
    events: list[dict[str, Any]] = Field(default_factory=list)


# export


def export_document(workflow: Event, events: dict[int, Event]) -> str:
    """The YAML document of ``workflow``, with the events its nodes run (by id)."""
    assert workflow.workflow is not None
    graph = workflow.workflow
    document = {
        "cronium": FORMAT,
        "workflow": {
            **_settings(workflow, WORKFLOW_SETTINGS),
            "nodes": [_OneLine(name=n.name, event=events[n.event_id].name) for n in graph.nodes],
            **({"edges": [_edge(edge) for edge in graph.edges]} if graph.edges else {}),
        },
        "events": [_settings(events[event_id], EVENT_SETTINGS) for event_id in graph.event_ids()],
    }
    return dump_yaml(document)


def _settings(event: Event, names: tuple[str, ...]) -> dict[str, Any]:
    """The event's settings a document keeps, as the API shows them, in the order of their
    declaration, those equal to their declared default left out."""
    public = EventPublic.of(event).model_dump(mode="json", include=set(names))
    kept = {}
    for name in names:
        item = SETTINGS[name]
        value = _tidy(item.annotation, public[name])
        if item.default is not dataclasses.MISSING and _same(value, item.dump(item.default)):
            continue
        model = _input_model(item.annotation)
        if model is not None and isinstance(value, dict):
            value = _without_defaults(value, model)
        kept[name] = _one_line(value) if name in ONE_LINE else value
    return kept


def _edge(edge: Edge) -> dict[str, Any]:
    """An edge as a person writes it: its kind and value left out when they are the
    defaults (``always``; true)."""
    defaults = EdgeIn(source=edge.source, target=edge.target)
    out = _OneLine(source=edge.source, target=edge.target)
    if edge.kind is not defaults.kind:
        out["kind"] = edge.kind.value
    if edge.value is not defaults.value:
        out["value"] = edge.value
    return out


def _input_model(annotation: Any) -> type[BaseModel] | None:
    """The request model a setting of this type is given in (a schedule's, say), if any."""
    for kind in typing.get_args(annotation) or (annotation,):
        model = INPUTS.get(kind)
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model
    return None


def _without_defaults(value: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``value`` (a mapping ``model`` reads) without the fields equal to the model's
    defaults, each field tidied as its type says."""
    kept = {}
    for name, item in value.items():
        field = model.model_fields.get(name)
        if field is None:
            kept[name] = item
            continue
        item = _tidy(field.annotation, item)
        if not field.is_required() and _same(item, field.get_default(call_default_factory=True)):
            continue
        kept[name] = item
    return kept


def _tidy(annotation: Any, value: Any) -> Any:
    """A whole number of a float setting as a person writes it: ``60``, not ``60.0``."""
    kinds = typing.get_args(annotation) or (annotation,)
    if float in kinds and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _same(value: Any, default: Any) -> bool:
    """Whether a value is its default (``0`` is not ``false``, nor ``1`` ``true``)."""
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return len(value) == len(default) and all(map(_same, value, default))
    return bool(value == default)


# YAML as a person writes it


class _OneLine(dict[str, Any]):
    """A mapping written on one line: ``{name: fetch, event: fetch-data}``."""


class _OneLineList(list[Any]):
    """A list written on one line: ``[db, nightly]``."""


def _one_line(value: Any) -> Any:
    """``value`` marked to be written on one line, if it is a mapping or a list."""
    if isinstance(value, dict):
        return _OneLine(value)
    if isinstance(value, list):
        return _OneLineList(value)
    return value


class _Dumper(yaml.SafeDumper):
    """Writes strings of several lines as literal blocks, lists indented under their key, and
    the mappings and lists marked so on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # PyYAML refuses literal blocks for a few strings that read back the same in one (a
        # tab, a space before a line's end); those that cannot are never marked literal.
        event = self.event
        assert isinstance(event, yaml.ScalarEvent)
        if self.analysis is None:
            self.analysis = self.analyze_scalar(event.value)
        if event.style == "|" and not self.flow_level and not self.simple_key_context:
            return "|"
        style: str = super().choose_scalar_style()
        return style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """A string of several lines as a literal block; one with a character that only an
    escape keeps (a carriage return, say) double-quoted; the others as PyYAML chooses (plain
    where YAML allows)."""
    if not _literal_block_keeps(value):
        style: str | None = '"'
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _literal_block_keeps(value: str) -> bool:
    """Whether a literal block reads back as ``value``: every character of it printable, a
    tab or a line feed (a carriage return, say, would be read as a line break)."""
    return all(ch in "\n\t" or _printable(ch) for ch in value)


def _printable(ch: str) -> bool:
    return (
        "\x20" <= ch <= "\x7e"
        or "\xa0" <= ch <= "\ud7ff"
        or ("\ue000" <= ch <= "\ufffd" and ch != "\ufeff")
        or "\U00010000" <= ch <= "\U0010ffff"
    ) and ch not in "\u2028\u2029"


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    _OneLine,
    lambda dumper, value: dumper.represent_mapping("tag:yaml.org,2002:map", value, True),
)
_Dumper.add_representer(
    _OneLineList,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True),
)


def dump_yaml(document: dict[str, Any]) -> str:
    """``document`` as YAML a person would write; should a string not read back the same in
    that form, in PyYAML's plainest (every character past ASCII escaped)."""
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30)
    if yaml.safe_load(text) == document:
        return text
    return yaml.safe_dump(document, sort_keys=False, width=1 << 30)  # escapes all but ASCII


# import


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
    _check_names(spec.name, events)
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


def _check_names(workflow: str, events: list[EventFields]) -> None:
    """InvalidInputError if two of the document's events, or the workflow and an event, have
    one name (names are unique among a user's events)."""
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.name == workflow:
            raise InvalidInputError(
                f"events[{index}].name: {event.name!r} is the workflow's name: an event and "
                "the workflow need names of their own"
            )
        if event.name in seen:
            raise InvalidInputError(
                f"events[{index}].name: events[{seen[event.name]}] is named {event.name!r} "
                "too: give each event once"
            )
        seen[event.name] = index


# the import's answer

Outcome = Literal["created", "changed", "unchanged"]


class ImportedPublic(BaseModel):
    """What an import did (or would do, on a dry run) to one event or to the workflow."""

    name: str
    kind: EventKind
    outcome: Outcome = Field(
        description="created, changed (a new version) or unchanged (left alone: it matches "
        "the document)."
    )
    id: int | None = Field(description="None: not created yet (a dry run).")
    old_version: int | None = Field(description="Its version before (None if created).")
    version: int = Field(description="Its version after.")

    @classmethod
    def of(cls, imported: Imported) -> ImportedPublic:
        return cls(
            name=imported.name,
            kind=imported.kind,
            outcome=imported.outcome,
            id=imported.event_id,
            old_version=imported.old_version,
            version=imported.version,
        )


class ImportReport(BaseModel):
    """What an import did, or (``dry_run``) would do without writing anything."""

    dry_run: bool
    workflow: ImportedPublic
    events: list[ImportedPublic] = Field(description="The document's events, in its order.")

    @classmethod
    def of(cls, result: WorkflowImport) -> ImportReport:
        return cls(
            dry_run=result.dry_run,
            workflow=ImportedPublic.of(result.workflow),
            events=[ImportedPublic.of(event) for event in result.events],
        )


class WorkflowImported(EventPublic):
    """The workflow as the import left it, and the report of what it did."""

    report: ImportReport


class ImportPreview(BaseModel):
    """A dry run's answer: what an import would do; nothing was written."""

    report: ImportReport
