"""Message templates: the strings of a tool action's params, rendered with what a run left.

Templates are Jinja2 in its sandbox (``ImmutableSandboxedEnvironment``: no private attributes,
no changing lists or dicts), with ``StrictUndefined`` (a name or attribute that is not there is
an error, not an empty string) and no autoescaping (messages are not HTML). They are checked
when they are saved (:func:`check_template`: they compile, read only the names of
``TEMPLATE_NAMES``, no private attribute and no other template) and rendered when a message is
sent (:func:`render_params`), within the bounds of ``cronium.templatebounds``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError

from cronium.errors import InvalidInputError
from cronium.templatebounds import (
    RENDERED_MAX,
    BoundedEnvironment,
    TemplateLimitError,
    bounded,
    budget,
)

TEMPLATE_NAMES: tuple[str, ...] = ("event", "execution", "log", "variables", "input")
_environment = BoundedEnvironment()


def is_template(text: str) -> bool:
    """Whether ``text`` is rendered: a string without ``{{`` or ``{%`` is sent as it is."""
    return "{{" in text or "{%" in text


def check_template(text: str, where: str) -> None:
    """InvalidInputError unless ``text`` compiles and reads only ``TEMPLATE_NAMES`` (no
    private attribute, no other template); ``where`` names the field in the message."""
    _parsed(text, where)


def _parsed(text: str, where: str) -> nodes.Template:
    try:
        tree = _environment.parse(text)
        undeclared = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as exc:
        raise InvalidInputError(
            f"the template in {where} does not compile: line {exc.lineno}: {exc.message}"
        ) from None
    except Exception as exc:  # too deep, an unknown filter...: the template's own fault
        raise InvalidInputError(
            f"the template in {where} does not compile: {type(exc).__name__}: {exc}"[:500]
        ) from None
    allowed = {*TEMPLATE_NAMES, *_environment.globals}
    for name in sorted(undeclared - allowed):
        raise InvalidInputError(
            f"the template in {where} reads {name!r}, which is not defined: the names are "
            + ", ".join(TEMPLATE_NAMES)
        )
    for _ in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        raise InvalidInputError(
            f"the template in {where} includes or imports another: a template stands alone"
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
    tree = _parsed(text, where)
    try:
        template = _environment.from_string(bounded(tree, _environment))
    except Exception as exc:  # Python refuses what it compiles to (too deeply nested)
        raise InvalidInputError(
            f"the template in {where} does not compile: {type(exc).__name__}: {exc}"[:500]
        ) from None
    try:
        with budget():
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


def has_templates(value: Any) -> bool:
    """Whether any string in ``value`` (however deep) is a template."""
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):
        return any(has_templates(item) for item in value.values())
    if isinstance(value, list):
        return any(has_templates(item) for item in value)
    return False


async def render_params_apart(params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """:func:`render_params` in a process of its own, bounded by the operating system (CPU
    seconds, memory, wall time, the size of what it gives back): a template is users' code,
    and no bound counted inside Jinja2 stops one costly step (a sort, a format) of it. Params
    without templates are given back as they are, at no cost."""
    if not has_templates(params):
        return params
    request = json.dumps({"params": params, "context": context}, default=str).encode()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cronium.templates",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, preexec_fn=_limited,
    )  # fmt: skip
    try:
        async with asyncio.timeout(RENDER_SECONDS * 2):
            answer, _ = await process.communicate(request)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise InvalidInputError(
            f"the templates took more than {RENDER_SECONDS * 2} s to render"
        ) from None
    if process.returncode != 0 or len(answer) > RENDER_ANSWER_MAX:
        raise InvalidInputError(
            f"the templates went over their bounds ({RENDER_SECONDS} s of CPU, "
            f"{RENDER_MEMORY // 2**20} MiB of memory, {RENDER_ANSWER_MAX // 2**20} MiB rendered)"
        )
    outcome = json.loads(answer)
    if "error" in outcome:
        raise InvalidInputError(str(outcome["error"]))
    rendered: dict[str, Any] = outcome["params"]
    return rendered


RENDER_SECONDS = 5
RENDER_MEMORY = 512 * 2**20
RENDER_ANSWER_MAX = 4 * 2**20


def _limited() -> None:
    """In the rendering process, before it starts: its bounds."""
    resource.setrlimit(resource.RLIMIT_CPU, (RENDER_SECONDS, RENDER_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (RENDER_MEMORY, RENDER_MEMORY))


def _render_request() -> None:
    """The rendering process: a request on stdin, the params or the error on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    try:
        outcome: dict[str, Any] = {"params": render_params(request["params"], request["context"])}
    except InvalidInputError as exc:
        outcome = {"error": exc.message}
    except MemoryError:
        outcome = {"error": f"the templates need more than {RENDER_MEMORY // 2**20} MiB"}
    text = json.dumps(outcome)
    if len(text) > RENDER_ANSWER_MAX:
        text = json.dumps(
            {"error": f"the params render to more than {RENDER_ANSWER_MAX // 2**20} MiB"}
        )
    sys.stdout.write(text)


if __name__ == "__main__":
    _render_request()
