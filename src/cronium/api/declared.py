"""Request and response fields derived from a settings declaration (``domain/settings.py``).

Each setting becomes a field of the same flat name, with the bounds and checks its declaration
gives. Domain values the API takes in a form of its own (a schedule, a graph, a request, an
action) are named in a table of input models; each such model has ``to_domain()``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from pydantic.fields import FieldInfo

from cronium.domain.settings import Flat, Meta, flat_settings

FieldDefinitions = dict[str, Any]


def _substituted(annotation: Any, table: dict[Any, Any], meta: Meta, outer: bool = True) -> Any:
    """``annotation`` with the types of ``table`` replaced, bounds put on the inner type."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return _substituted(inner, table, meta, outer) | None
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _substituted(args[0], table, meta, outer=False)
        if args[0] is str and (meta.item_max_length or meta.item_pattern):
            item = Annotated[
                str, StringConstraints(max_length=meta.item_max_length, pattern=meta.item_pattern)
            ]
        return _bounded(list[item], meta) if outer else list[item]  # type: ignore[valid-type]
    found = table.get(annotation, annotation)
    return _bounded(found, meta) if outer else found


def _bounded(annotation: Any, meta: Meta) -> Any:
    constraints: list[Any] = []
    if meta.strip:
        constraints.append(StringConstraints(strip_whitespace=True))
    bounds = {
        name: getattr(meta, name)
        for name in ("ge", "le", "min_length", "max_length", "pattern")
        if getattr(meta, name) is not None
    }
    if bounds:
        constraints.append(Field(**bounds))
    if meta.check is not None:
        constraints.append(AfterValidator(meta.check))
    return Annotated[annotation, *constraints] if constraints else annotation


def _field(item: Flat, default: Any) -> FieldInfo:
    info: FieldInfo = Field(default=default, description=item.meta.description or None)
    return info


def input_fields(kind: type, inputs: dict[Any, Any], *, partial: bool = False) -> FieldDefinitions:
    """The settings of ``kind`` as request fields: with their defaults (null stands for the
    default), or (``partial``) all optional, for an update, leaving out those that cannot
    change."""
    definitions: FieldDefinitions = {}
    for item in flat_settings(kind):
        annotation = _substituted(item.annotation, inputs, item.meta)
        if partial:
            if item.meta.updatable:
                definitions[item.name] = (annotation | None, _field(item, None))
            continue
        if item.default is dataclasses.MISSING:
            definitions[item.name] = (annotation, _field(item, ...))
            continue
        default = item.dump(item.default)  # as JSON: the input models validate it
        # null (or nothing) stands for the default
        definitions[item.name] = (annotation | None, _field(item, default))
    return definitions


def output_fields(kind: type, outputs: dict[Any, Any]) -> FieldDefinitions:
    """The settings of ``kind`` as response fields (as JSON, by the ``outputs`` table)."""
    plain = Meta()
    return {
        item.name: (_substituted(item.annotation, outputs, plain), _field(item, ...))
        for item in flat_settings(kind)
    }


def to_domain(item: Flat, value: Any) -> Any:
    """A request's value of a setting as the domain has it: input models turned by their
    ``to_domain()``, JSON values read by the setting's codec."""
    if value is None:
        return None
    if hasattr(value, "to_domain"):
        return value.to_domain()
    if isinstance(value, list) and value and hasattr(value[0], "to_domain"):
        return tuple(part.to_domain() for part in value)
    return item.load(value)
