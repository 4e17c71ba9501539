"""Settings declared once: a dataclass field says everything the rest of Cronium needs to know.

A setting is a field of a settings dataclass (see ``EventSettings`` in ``event.py``) made with
:func:`setting`. Its metadata says how the API bounds it, whether a change makes a new version,
whether ``null`` removes it, where documents keep it and how it is written as JSON. A field
whose value is itself a dataclass of settings (resource limits, a schedule policy) is a group:
its fields are settings of their own, side by side with the others in the flat form that the
API, documents, versions and the database use. :func:`flat_settings` lists that flat form, and
the functions below convert between it and the dataclass.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

# Where a workflow document keeps a setting: with each event, with the workflow and its
# events, or nowhere.
Documents = Literal["events", "both", "none"]


@dataclass(frozen=True, slots=True)
class Codec:
    """How a setting's value is written as JSON and read back."""

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Meta:
    """What one setting's declaration says about it."""

    versioned: bool = True  # a change of it makes a new version
    clearable: bool = False  # null in an update removes it
    updatable: bool = True  # it can be changed after creation
    documents: Documents = "events"
    description: str = ""
    name: str | None = None  # its flat name, when not the field's
    flags: tuple[str, ...] = ()  # short command-line names besides --its-name
    codec: Codec | None = None
    check: Callable[[Any], Any] | None = None  # raises ValueError with the reason
    # bounds, as the API applies them
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    strip: bool = False
    item_max_length: int | None = None  # of each string of a list
    item_pattern: str | None = None
    # a mapping's value for an entry given by its key alone (the CLI's ``--secret KEY``)
    item_default: str | None = None


def setting(default: Any = dataclasses.MISSING, **meta: Any) -> Any:
    """A settings field: ``default`` (a list or dict default is copied) and its :class:`Meta`."""
    info = {"setting": Meta(**meta)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=info)
    return field(default=default, metadata=info)


def group(default_factory: Callable[[], Any]) -> Any:
    """A field holding a dataclass of settings, flattened beside the others."""
    return field(default_factory=default_factory, metadata={"group": True})


@dataclass(frozen=True, slots=True)
class Flat:
    """One setting in the flat form: its name, where it lives, its type and declaration."""

    name: str
    attribute: str  # the field's name in its dataclass
    group: str | None  # the group field holding it, if any
    annotation: Any  # its Python type
    default: Any
    meta: Meta

    def dump(self, value: Any) -> Any:
        """The value as JSON."""
        if value is None:
            return None
        return self.meta.codec.dump(value) if self.meta.codec else value

    def load(self, value: Any) -> Any:
        """The value from JSON."""
        if value is None:
            return None
        return self.meta.codec.load(value) if self.meta.codec else value


@cache
def flat_settings(kind: type) -> tuple[Flat, ...]:
    """Every setting of the dataclass ``kind``, groups flattened, in declaration order."""
    flats = []
    hints = typing.get_type_hints(kind)
    for outer in dataclasses.fields(kind):
        if outer.metadata.get("group"):
            inner_kind = hints[outer.name]
            inner_hints = typing.get_type_hints(inner_kind)
            for inner in dataclasses.fields(inner_kind):
                flats.append(_flat(inner, inner_hints[inner.name], outer.name))
        elif "setting" in outer.metadata:
            flats.append(_flat(outer, hints[outer.name], None))
    return tuple(flats)


def _flat(declared: dataclasses.Field[Any], annotation: Any, group_name: str | None) -> Flat:
    meta: Meta = declared.metadata.get("setting", Meta())
    if declared.default is not dataclasses.MISSING:
        default = declared.default
    elif declared.default_factory is not dataclasses.MISSING:
        default = declared.default_factory()
    else:
        default = dataclasses.MISSING
    name = meta.name or declared.name
    return Flat(name, declared.name, group_name, annotation, default, meta)


def to_flat(settings: Any) -> dict[str, Any]:
    """The settings by flat name, as values (not JSON)."""
    flat = {}
    kind: type = type(settings)
    for item in flat_settings(kind):
        holder = settings if item.group is None else getattr(settings, item.group)
        flat[item.name] = getattr(holder, item.attribute)
    return flat


def to_json(settings: Any) -> dict[str, Any]:
    """The settings by flat name, as JSON values."""
    kind: type = type(settings)
    items = by_name(kind)
    return {name: items[name].dump(value) for name, value in to_flat(settings).items()}


def from_flat(kind: type, values: Mapping[str, Any], **extra: Any) -> Any:
    """A ``kind`` from flat values (those left out take their default); ``extra``: fields of
    ``kind`` that are not settings (an event's id, say)."""
    outer: dict[str, Any] = dict(extra)
    groups: dict[str, dict[str, Any]] = {}
    for item in flat_settings(kind):
        if item.name not in values:
            continue
        if item.group is None:
            outer[item.attribute] = values[item.name]
        else:
            groups.setdefault(item.group, {})[item.attribute] = values[item.name]
    kinds = _group_kinds(kind)
    for name, inner in groups.items():
        outer[name] = kinds[name](**inner)
    return kind(**outer)


@cache
def _group_kinds(kind: type) -> dict[str, type]:
    hints = typing.get_type_hints(kind)
    return {
        item.name: hints[item.name]
        for item in dataclasses.fields(kind)
        if item.metadata.get("group")
    }


def from_json(kind: type, values: Mapping[str, Any], **extra: Any) -> Any:
    """:func:`from_flat` of JSON values (as :func:`to_json` writes them)."""
    items = by_name(kind)
    loaded = {name: items[name].load(value) for name, value in values.items() if name in items}
    return from_flat(kind, loaded, **extra)


@cache
def by_name(kind: type) -> dict[str, Flat]:
    """The settings of ``kind`` by flat name."""
    return {item.name: item for item in flat_settings(kind)}


def names(kind: type, predicate: Callable[[Meta], bool] = lambda _: True) -> tuple[str, ...]:
    """The flat names of the settings whose declaration ``predicate`` accepts."""
    return tuple(item.name for item in flat_settings(kind) if predicate(item.meta))
