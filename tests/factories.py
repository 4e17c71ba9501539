"""Events, executions, sandbox specs and REST bodies for the tests of every layer.

Each factory has defaults that make a valid object and takes any field as a keyword, so a test
names only what it is about. The limits of a run (``timeout_seconds``, ``cpus``, ``memory_mb``,
``pids``) may be given directly, as in ``script_event("sleep 60", timeout_seconds=5)``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from cronium.domain.event import EventKind, Language, ResourceLimits
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.http import HttpRequest
from cronium.domain.user import Role, User
from cronium.domain.workflow import Edge, Graph, Node
from cronium.sandbox.spec import SandboxSpec
from cronium.storage import EventFields, RunRecord, Store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = frozenset(ResourceLimits.__slots__)
_numbers = itertools.count(1)


def unique_name(prefix: str = "event") -> str:
    """A name no other made in this test session has: ``event-1``, ``event-2``..."""
    return f"{prefix}-{next(_numbers)}"


def _with_limits(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with its limit fields (``timeout_seconds``...) gathered into ``limits``."""
    given = {name: fields.pop(name) for name in LIMITS & fields.keys()}
    if given and "limits" in fields:
        raise TypeError(f"give either limits or {', '.join(sorted(given))}, not both")
    fields.setdefault("limits", ResourceLimits(**given))
    return fields


# events


def script_event(
    script: str = "true", language: Language = Language.BASH, **fields: Any
) -> EventFields:
    """A script event: Bash ``true`` with a unique name, no env and the default limits."""
    fields.setdefault("name", unique_name())
    fields.setdefault("env", {})
    return EventFields(language=language, script=script, **_with_limits(fields))


def python_event(script: str, **fields: Any) -> EventFields:
    """A Python script event."""
    return script_event(script, Language.PYTHON, **fields)


def http_event(request: HttpRequest | str = "http://127.0.0.1:9/", **fields: Any) -> EventFields:
    """An HTTP-request event: ``request`` or a GET of the URL given."""
    if isinstance(request, str):
        request = HttpRequest("GET", request)
    fields.setdefault("name", unique_name("call"))
    fields.setdefault("env", {})
    return EventFields(
        language=None, script="", kind=EventKind.HTTP, http=request, **_with_limits(fields)
    )


def workflow_graph(nodes: dict[str, int] | str, *edges: tuple[Any, ...]) -> Graph:
    """A graph of ``nodes`` (name -> event id, or names apart by spaces, whose events are 1,
    2, 3...) and ``edges`` as ``(source, target[, kind[, value]])``, on success by default."""
    if isinstance(nodes, str):
        made = [Node(name, number) for number, name in enumerate(nodes.split(), 1)]
    else:
        made = [Node(name, event_id) for name, event_id in nodes.items()]
    return Graph(
        nodes=tuple(made),
        edges=tuple(Edge(*edge) for edge in edges),
    )


def workflow_event(graph: Graph, **fields: Any) -> EventFields:
    """A workflow event that runs ``graph``."""
    fields.setdefault("name", unique_name("workflow"))
    fields.setdefault("env", {})
    return EventFields(
        language=None, script="", kind=EventKind.WORKFLOW, workflow=graph, **_with_limits(fields)
    )


# in a store


async def owner(store: Store, name: str | None = None, *, admin: bool = False) -> User:
    """A new user (not an administrator unless asked)."""
    return await store.users.create(
        name or unique_name("owner"), role=Role.ADMIN if admin else Role.USER, now=NOW
    )


async def stored_event(
    store: Store, fields: EventFields | None = None, *, owner_id: int | None = None
) -> int:
    """The id of an event made in ``store`` at NOW (a script event unless ``fields`` say
    otherwise), owned by a new user unless ``owner_id`` is given."""
    if owner_id is None:
        owner_id = (await owner(store)).id
    return (await store.events.create(owner_id, fields or script_event(), NOW)).id


async def queued(
    store: Store, event_id: int, *, input: Any = None, now: datetime = NOW, **options: Any
) -> Execution:
    """A first attempt of the event, queued at ``now`` (``priority``, ``trigger``)."""
    return await store.queue.enqueue(event_id, input=input, now=now, **options)


def run_record(
    status: ExecutionStatus = ExecutionStatus.SUCCEEDED, finished_at: datetime = NOW, **fields: Any
) -> RunRecord:
    """What a finished run leaves on its execution: a success at NOW unless said otherwise."""
    return RunRecord(status=status, finished_at=finished_at, **fields)


# sandboxes

_execution_ids = itertools.count(10_000)


def sandbox_spec(
    script: str = "true", language: Language = Language.BASH, **options: Any
) -> SandboxSpec:
    """What a backend runs: ``options`` are SandboxSpec fields or limit fields."""
    options.setdefault("execution_id", next(_execution_ids))
    return SandboxSpec(language=language, script=script, **_with_limits(options))


# REST


def event_body(**changes: Any) -> dict[str, Any]:
    """The JSON body that creates a Bash event over REST: ``echo hello`` under a unique name."""
    return {"name": unique_name(), "language": "bash", "script": "echo hello", **changes}
