"""Message templates: the strings of a tool action's params, rendered with what a run left.

Templates are Jinja2 in its sandbox (``ImmutableSandboxedEnvironment``: no private attributes,
no changing lists or dicts), with ``StrictUndefined`` (a name or attribute that is not there is
an error, not an empty string) and no autoescaping (messages are not HTML). They are checked
when they are saved (:func:`check_template`: they compile and read only the names of
``TEMPLATE_NAMES``) and rendered when a message is sent (:func:`render_params`).

A template is written by a user and rendered by a worker, so rendering is bounded: each value
renders to at most ``RENDERED_MAX`` characters; loop iterations and calls together are at most
``STEPS_MAX`` per value (a loop in a loop cannot run for hours); what blocks and macros write
counts too (``WRITTEN_MAX``); and the operations that make long strings (``*``, ``%``,
``replace``, ``join``, ``center``, format widths...) are refused before they run when what they
would make is over the limit. The bounds are kept in a context variable per rendered value,
charged by filters that :class:`_Bounds` puts around each loop, each output and each ``~``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextvars import ContextVar
from functools import wraps
from string import Formatter
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from cronium.errors import InvalidInputError

TEMPLATE_NAMES: tuple[str, ...] = ("event", "execution", "log", "variables", "input")
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


def _charge() -> _Budget:
    budget = _budget.get(None)
    if budget is None:  # compiling (constant folding), not rendering: nothing to charge
        budget = _Budget()
    budget.step()
    return budget


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


class _Environment(ImmutableSandboxedEnvironment):
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
    _charge().write(len(text))
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


_environment = _Environment()


def is_template(text: str) -> bool:
    """Whether ``text`` is rendered: a string without ``{{`` or ``{%`` is sent as it is."""
    return "{{" in text or "{%" in text


def check_template(text: str, where: str) -> None:
    """InvalidInputError unless ``text`` compiles and reads only ``TEMPLATE_NAMES`` (and no
    private attribute); ``where`` names the field in the message."""
    _parsed(text, where)


def _parsed(text: str, where: str) -> nodes.Template:
    try:
        tree = _environment.parse(text)
    except TemplateSyntaxError as exc:
        raise InvalidInputError(
            f"the template in {where} does not compile: line {exc.lineno}: {exc.message}"
        ) from None
    allowed = {*TEMPLATE_NAMES, *_environment.globals}
    for name in sorted(meta.find_undeclared_variables(tree) - allowed):
        raise InvalidInputError(
            f"the template in {where} reads {name!r}, which is not defined: the names are "
            + ", ".join(TEMPLATE_NAMES)
        )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attribute = node.attr if isinstance(node, nodes.Getattr) else _constant(node)
        if isinstance(attribute, str) and attribute.startswith("_"):
            raise InvalidInputError(
                f"the template in {where} reads {attribute!r}: templates may not read"
                " attributes whose name starts with '_'"
            )
    return tree


def _constant(node: nodes.Node) -> Any:
    argument = getattr(node, "arg", None)
    return argument.value if isinstance(argument, nodes.Const) else None


def render(text: str, context: dict[str, Any], where: str) -> str:
    """``text`` rendered with ``context``; InvalidInputError naming ``where`` and the reason
    if it cannot be (see :func:`render_params`)."""
    tree = _Bounds().visit(_parsed(text, where))
    tree.set_environment(_environment)
    template = _environment.from_string(tree)
    token = _budget.set(_Budget())
    try:
        parts, size = [], 0
        for part in template.generate(context):
            size += len(part)
            if size > RENDERED_MAX:
                raise TemplateLimitError(f"it renders to more than {RENDERED_MAX // 1024} KiB")
            parts.append(part)
        return "".join(parts)
    except TemplateLimitError as exc:
        raise InvalidInputError(f"the template in {where} goes over a limit: {exc}") from None
    except SecurityError as exc:
        raise InvalidInputError(f"the template in {where} is not allowed: {exc}") from None
    except UndefinedError as exc:
        raise InvalidInputError(f"the template in {where} cannot render: {exc}") from None
    except Exception as exc:  # a template is the user's code: what it raises is its own fault
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise InvalidInputError(f"the template in {where} cannot render: {reason}") from None
    finally:
        _budget.reset(token)


def render_params(params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every template in its strings (however deep) rendered with
    ``context``; InvalidInputError naming the field (``params.blocks[0].text``) and why."""
    rendered: dict[str, Any] = _rendered(params, context, "params")
    return rendered


def _rendered(value: Any, context: dict[str, Any], where: str) -> Any:
    if isinstance(value, str):
        return render(value, context, where) if is_template(value) else value
    if isinstance(value, dict):
        return {key: _rendered(item, context, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_rendered(item, context, f"{where}[{i}]") for i, item in enumerate(value)]
    return value
