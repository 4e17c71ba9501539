"""The bounded sandbox message templates render in (see ``cronium.templates``).

A template is written by a user and rendered by a worker, so rendering is bounded. Each value
renders to at most ``RENDERED_MAX`` characters; loop iterations and calls together are at most
``STEPS_MAX`` per value (a loop in a loop cannot run for hours); what blocks and macros write
counts too (``WRITTEN_MAX``); and the operations that make long strings or huge numbers (``*``,
``**``, ``%``, ``replace``, ``join``, ``center``, format widths...) are refused before they run
when what they would make is over the limit. The bounds are kept per rendered value in a
context variable (:func:`budget`), charged by every filter and call, and by the filters that
:func:`bounded` puts around each loop's items, each output and each ``~`` of a template.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from string import Formatter
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

RENDERED_MAX = 256 * 1024
WRITTEN_MAX = 4 * RENDERED_MAX
STEPS_MAX = 10_000
ARGUMENT_MAX = 10_000  # the largest width, length or count a template may ask of an operation
SIZED = frozenset({"center", "ljust", "rjust", "zfill", "wordwrap", "truncate", "batch", "slice"})
_FORMAT_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


class TemplateLimitError(Exception):
    """A template went over one of the bounds of rendering (see the module's docstring)."""


class _Budget:
    __slots__ = ("steps", "written")

    def __init__(self) -> None:
        self.steps = STEPS_MAX
        self.written = WRITTEN_MAX

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise TemplateLimitError(f"it runs more than {STEPS_MAX} loop iterations and calls")

    def write(self, size: int) -> None:
        self.written -= size
        if self.written < 0:
            raise TemplateLimitError(
                f"it writes more than {WRITTEN_MAX // 1024} KiB in all, its blocks included"
            )


_budget: ContextVar[_Budget] = ContextVar("template_budget")


@contextmanager
def budget() -> Iterator[None]:
    """A fresh budget for what is rendered within."""
    token = _budget.set(_Budget())
    try:
        yield
    finally:
        _budget.reset(token)


def _current() -> _Budget:
    # None when compiling (constant folding), not rendering: nothing to charge
    return _budget.get(None) or _Budget()


def _charge() -> None:
    _current().step()


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > RENDERED_MAX:
        raise TemplateLimitError(f"it makes a value longer than {RENDERED_MAX // 1024} KiB")
    if isinstance(value, int) and value.bit_length() > 64 * 1024:
        raise TemplateLimitError("it makes a number too large to write")
    return value


def _growth(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """About the length of what the string operation ``name`` would make of ``value``, known
    before it runs (0 when it cannot make a long string)."""
    text = value if isinstance(value, str) else ""
    if name in SIZED or name == "tojson":
        numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
        limit = 16 if name == "tojson" else ARGUMENT_MAX
        if any(abs(n) > limit for n in numbers):
            raise TemplateLimitError(f"{name} is given a number over {limit}")
        return len(text)
    if name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        count = text.count(old) if old else len(text) + 1
        return len(text) + count * max(0, len(new) - len(old))
    if name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else int(width)
        return len(text) + (text.count("\n") + 1) * max(0, pad)
    if name == "expandtabs":
        return len(text) + text.count("\t") * int(args[0] if args else kwargs.get("tabsize", 8))
    if name == "format":  # the format filter, printf-style
        _check_percent(text)
    return len(text)


def _check_percent(text: str) -> None:
    """Refuse widths and precisions over ``ARGUMENT_MAX`` in a printf-style format
    (``%9999999s``): they would make the long string before anything could measure it."""
    for width, precision in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*" or (number and int(number) > ARGUMENT_MAX):
                raise TemplateLimitError(f"a format width over {ARGUMENT_MAX}")


def _check_braces(text: str) -> None:
    """The same for ``str.format``'s specs (``{:>9999999}``), and no width given by a value."""
    try:
        specs = [spec for _, _, spec, _ in Formatter().parse(text) if spec]
    except ValueError:
        return  # format itself refuses it
    for spec in specs:
        if "{" in spec:
            raise TemplateLimitError("a format width given by a value")
        if any(int(n) > ARGUMENT_MAX for n in _FORMAT_NUMBER.findall(spec)):
            raise TemplateLimitError(f"a format width over {ARGUMENT_MAX}")


def _joined(separator: str, items: list[Any]) -> int:
    return len(separator) * max(0, len(items) - 1) + sum(
        len(item) for item in items if isinstance(item, str)
    )


def _bounded_filter(name: str, function: Any) -> Any:
    skip = 1 if hasattr(function, "jinja_pass_arg") else 0

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _charge()
        value, rest = args[skip], args[skip + 1 :]
        if name == "join" and not isinstance(value, str):
            value = list(value)
            args = (*args[:skip], value, *rest)
            separator = str(rest[0] if rest else kwargs.get("d", ""))
            size = _joined(separator, value)
        else:
            size = _growth(name, value, rest, kwargs)
        if size > RENDERED_MAX:
            raise TemplateLimitError(f"{name} would make more than {RENDERED_MAX // 1024} KiB")
        return _sized(function(*args, **kwargs))

    return bounded


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with every filter, call and growing operator bounded."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(cronium_loop=_loop, cronium_write=_write, cronium_concat=_concat)
        self.globals = {
            name: self.globals[name] for name in ("dict", "cycler", "joiner", "namespace")
        }
        self.globals["range"] = _range

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_operator(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _charge()
        method = getattr(obj, "__wrapped__", obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            name = getattr(method, "__name__", "")
            if name in ("format", "format_map"):
                _check_braces(owner)
            if name == "join" and args:
                args = (list(args[0]), *args[1:])
                size = _joined(owner, args[0])
            else:
                size = _growth(name, owner, args, kwargs)
            if size > RENDERED_MAX:
                raise TemplateLimitError(f"{name} would make more than {RENDERED_MAX // 1024} KiB")
        return _sized(super().call(context, obj, *args, **kwargs))


def _check_operator(operator: str, left: Any, right: Any) -> None:
    """Refuse ``s * n`` making a long string or list, ``a ** b`` or ``a * b`` making a huge
    number, and ``%`` with huge widths, before they run."""
    if operator == "%" and isinstance(left, str):
        _check_percent(left)
    if operator != "*" and operator != "**":
        return
    if isinstance(right, str | list | tuple):
        left, right = right, left
    if isinstance(left, str | list | tuple) and isinstance(right, int):
        if len(left) * right > RENDERED_MAX:
            raise TemplateLimitError(f"* would make more than {RENDERED_MAX // 1024} KiB")
    elif isinstance(left, int) and isinstance(right, int):
        power = operator == "**"
        bits = left.bit_length() * right if power else left.bit_length() + right.bit_length()
        if bits > 64 * 1024:
            raise TemplateLimitError("it makes a number too large to write")


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > STEPS_MAX:
        raise TemplateLimitError(f"a range of more than {STEPS_MAX} numbers")
    return numbers


@pass_context
def _loop(context: Context, items: Any) -> Iterator[Any]:
    for item in items:
        _charge()
        yield item


@pass_context
def _write(context: Context, value: Any) -> str:
    text = str(value)
    _current().write(len(text))
    return text


@pass_context
def _concat(context: Context, values: list[Any]) -> str:
    texts = [str(value) for value in values]
    if sum(map(len, texts)) > RENDERED_MAX:
        raise TemplateLimitError(f"~ would make more than {RENDERED_MAX // 1024} KiB")
    return "".join(texts)


class _Bounds(NodeTransformer):
    """Puts a charging filter around each loop's items, each output and each ``~``."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 (the visitor's names)
        self.generic_visit(node)
        node.iter = _filter(node.iter, "cronium_loop")
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        node.nodes = [
            _filter(
                nodes.Const(n.data) if isinstance(n, nodes.TemplateData) else n, "cronium_write"
            )
            for n in node.nodes
        ]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes), "cronium_concat")


def _filter(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def bounded(tree: nodes.Template, environment: BoundedEnvironment) -> nodes.Template:
    """``tree`` (changed in place) with its loops, outputs and ``~`` charged, ready to
    compile in ``environment``."""
    result: nodes.Template = _Bounds().visit(tree)
    result.set_environment(environment)
    return result
