"""Command-line options derived from the event settings' one declaration (``EventSettings``).

``@setting_options(exclude=...)`` gives a command one option per setting (``--max-attempts``,
``--retry-backoff-seconds``, ``--tags a,b``, a mapping as a repeated ``--secret KEY=VALUE``...;
a setting's ``flags`` add short names such as ``--timeout``), and hands the command the
settings given, by name, as request fields, in its ``settings`` parameter. A new setting in the
declaration is a new option of every such command.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer

from cronium.client import ClientError
from cronium.domain import settings as declared
from cronium.domain.event import EventSettings
from cronium.domain.settings import Flat

F = TypeVar("F", bound=Callable[..., Any])
PREFIX = "setting_"


def _option_type(annotation: Any) -> Any:
    """The type a command-line option of this setting takes."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return _option_type(inner)
    if origin is dict:
        return list[str]  # KEY=VALUE, repeatable
    if origin is tuple or annotation is timedelta:
        return str if origin is tuple else int  # a list as a,b,c; a span in seconds
    if origin is typing.Literal:
        return str
    return annotation


def _as_field(item: Flat, value: Any) -> Any:
    """An option's value as the request field of its setting."""
    origin = typing.get_origin(_unwrapped(item.annotation))
    if origin is tuple:
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if origin is dict:
        return _mapping(item, value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _mapping(item: Flat, pairs: list[str]) -> dict[str, str]:
    """Repeated ``KEY=VALUE`` options as a mapping; ``KEY`` alone takes the declared
    ``item_default``, if there is one."""
    option = f"--{item.name.replace('_', '-')}"
    mapping = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep and item.meta.item_default is None:
            raise ClientError(f"{option} {pair!r}: write it as KEY=VALUE")
        mapping[key.strip()] = value.strip() if sep else str(item.meta.item_default)
    return mapping


def _unwrapped(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if type(None) in args:
        return next(arg for arg in args if arg is not type(None))
    return annotation


def _parameter(item: Flat) -> inspect.Parameter:
    names = [f"--{item.name.replace('_', '-')}", *item.meta.flags]
    help_text = item.meta.description or f"The event's {item.name.replace('_', ' ')}."
    numeric = _option_type(item.annotation) in (int, float)
    mapping = typing.get_origin(_unwrapped(item.annotation)) is dict
    option = typer.Option(
        *names,
        help=help_text + (" Repeatable; the whole new mapping." if mapping else ""),
        metavar="KEY=VALUE" if mapping else None,
        show_default=False,
        min=item.meta.ge if numeric else None,
        max=item.meta.le if numeric else None,
    )
    return inspect.Parameter(
        PREFIX + item.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[_option_type(item.annotation) | None, option],
    )


def setting_options(
    *, exclude: Collection[str] = (), only: Collection[str] | None = None
) -> Callable[[F], F]:
    """Give the command an option per event setting (those in ``only`` if given) but those in
    ``exclude``; the command takes the ones given as ``settings: dict[str, Any]`` (request
    fields by name)."""
    items = [
        item
        for item in declared.flat_settings(EventSettings)
        if item.name not in exclude and (only is None or item.name in only)
    ]

    def decorate(command: F) -> F:
        signature = inspect.signature(command, eval_str=True)
        kept = [p for p in signature.parameters.values() if p.name != "settings"]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {item.name: kwargs.pop(PREFIX + item.name) for item in items}
            settings = {
                item.name: _as_field(item, given[item.name])
                for item in items
                if given[item.name] is not None
            }
            return command(*args, settings=settings, **kwargs)

        parameters = [*kept, *(_parameter(item) for item in items)]
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return typing.cast(F, wrapper)

    return decorate
