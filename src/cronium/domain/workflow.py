"""Workflows: a DAG of events, and how a run of it progresses. Pure: no I/O, no clock.

A workflow is nodes (each runs an event) and edges between them, each of a kind:

- ``always``: taken once the source ended (succeeded, failed or timed out);
- ``on_success``: taken if the source succeeded;
- ``on_failure``: taken if the source failed or timed out (it *handles* the failure);
- ``on_condition``: taken if the source succeeded and set its condition to the edge's
  ``value`` (true by default; a condition never set counts as false).

Start nodes (no incoming edge) run at once, in parallel, with the run's input. A node is
resolved once every incoming edge is: it runs if at least one of them was taken, else it is
skipped, and a skipped or cancelled node takes none of its outgoing edges, so skipping flows
downstream to every node without another path and a run never hangs. A node's input is its
predecessor's output when it has one predecessor, else an object keyed by predecessor name
(null for those that did not run). A run ends when every node has; it fails if a node failed
without an ``on_failure`` edge to handle it; its output is its last node's output (or an object
keyed by name when several nodes have no outgoing edge).
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from cronium.errors import InvalidInputError, InvalidTransitionError

NODE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
NODES_MAX = 200


class EdgeKind(enum.StrEnum):
    ALWAYS = "always"
    ON_SUCCESS = "on_success"
    ON_FAILURE = "on_failure"
    ON_CONDITION = "on_condition"


class NodeStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def ended(self) -> bool:
        return self not in (NodeStatus.PENDING, NodeStatus.RUNNING)

    @property
    def failed(self) -> bool:
        return self in (NodeStatus.FAILED, NodeStatus.TIMED_OUT)


_ENDS = frozenset(
    {NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.TIMED_OUT, NodeStatus.CANCELLED}
)
# A pending node starts, is skipped, fails at once (its event is gone) or is cancelled with its
# run; a running one ends as its execution did. An ended node never changes again.
NODE_TRANSITIONS: dict[NodeStatus, frozenset[NodeStatus]] = {
    NodeStatus.PENDING: frozenset({NodeStatus.RUNNING, NodeStatus.SKIPPED, *_ENDS}),
    NodeStatus.RUNNING: _ENDS,
    **{status: frozenset() for status in (*_ENDS, NodeStatus.SKIPPED)},
}


def check_node_transition(current: NodeStatus, target: NodeStatus) -> None:
    """Raise :class:`InvalidTransitionError` unless a node may go from ``current`` to
    ``target``."""
    if target not in NODE_TRANSITIONS[current]:
        raise InvalidTransitionError(f"a workflow node that is {current} cannot become {target}")


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    event_id: int


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind = EdgeKind.ALWAYS
    value: bool = True  # for on_condition: the condition that takes the edge

    def taken(self, source: NodeState) -> bool:
        """Whether the edge is taken, once its source has ended."""
        status = source.status
        if self.kind is EdgeKind.ALWAYS:
            return status is NodeStatus.SUCCEEDED or status.failed
        if self.kind is EdgeKind.ON_SUCCESS:
            return status is NodeStatus.SUCCEEDED
        if self.kind is EdgeKind.ON_FAILURE:
            return status.failed
        return status is NodeStatus.SUCCEEDED and bool(source.condition) is self.value


@dataclass(frozen=True, slots=True)
class NodeState:
    status: NodeStatus = NodeStatus.PENDING
    output: Any = None
    condition: bool | None = None


@dataclass(frozen=True, slots=True)
class NodeRun:
    """One node of one run, as recorded."""

    node: str
    status: NodeStatus
    execution_id: int | None  # its latest attempt, once started
    input: Any
    output: Any
    condition: bool | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Progress:
    """What to do next: nodes to start (with their input) and nodes to skip."""

    start: dict[str, Any] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended."""

    status: NodeStatus  # succeeded, failed or cancelled
    output: Any
    error: str | None


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()

    # structure (indexes built once per graph: a run consults them at each node's end)

    @cached_property
    def _by_name(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}

    @cached_property
    def _incoming(self) -> dict[str, list[Edge]]:
        index: dict[str, list[Edge]] = {node.name: [] for node in self.nodes}
        for edge in self.edges:
            index.setdefault(edge.target, []).append(edge)
        return index

    @cached_property
    def _outgoing(self) -> dict[str, list[Edge]]:
        index: dict[str, list[Edge]] = {node.name: [] for node in self.nodes}
        for edge in self.edges:
            index.setdefault(edge.source, []).append(edge)
        return index

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def incoming(self, name: str) -> list[Edge]:
        return self._incoming.get(name, [])

    def outgoing(self, name: str) -> list[Edge]:
        return self._outgoing.get(name, [])

    def predecessors(self, name: str) -> list[str]:
        return list(dict.fromkeys(edge.source for edge in self.incoming(name)))

    def starts(self) -> list[str]:
        targets = {edge.target for edge in self.edges}
        return [node.name for node in self.nodes if node.name not in targets]

    def check(self) -> None:
        """InvalidInputError naming everything wrong at once: no nodes, invalid or duplicate
        names, edges to unknown nodes or to their own source, duplicate edges, every cycle
        (with its path) and the nodes that can never run because of one."""
        problems = self._name_problems() + self._edge_problems() + self._cycle_problems()
        if problems:
            raise InvalidInputError("the workflow is not valid: " + "; ".join(problems))

    def _name_problems(self) -> list[str]:
        problems = []
        if not self.nodes:
            problems.append("it has no nodes: add at least one")
        if len(self.nodes) > NODES_MAX:
            problems.append(f"it has {len(self.nodes)} nodes, more than {NODES_MAX}")
        seen: set[str] = set()
        for node in self.nodes:
            if not NODE_NAME.match(node.name):
                problems.append(
                    f"node name {node.name!r} is not valid (letters, digits, _ . -; at most 100)"
                )
            if node.name in seen:
                problems.append(f"two nodes are named {node.name!r}")
            seen.add(node.name)
        return problems

    def _edge_problems(self) -> list[str]:
        names = {node.name for node in self.nodes}
        problems, pairs = [], set()
        for edge in self.edges:
            for end in (edge.source, edge.target):
                if end not in names:
                    problems.append(
                        f"edge {edge.source} -> {edge.target}: no node is named {end!r}"
                    )
            if edge.source == edge.target:
                problems.append(f"edge {edge.source} -> {edge.target} links a node to itself")
            if (edge.source, edge.target) in pairs:
                problems.append(
                    f"two edges go from {edge.source} to {edge.target}: keep one (an 'always' "
                    "edge covers success and failure)"
                )
            pairs.add((edge.source, edge.target))
        return problems

    def _cycle_problems(self) -> list[str]:
        """Each cycle (one path through each group of nodes that lead to one another), then
        the other nodes no run can reach. Edges already named as wrong (to an unknown node,
        to the node itself) are left out here, so every problem is named once."""
        links = _Links.of(self)
        stuck = links.stuck()
        problems, on_cycles = [], set()
        for group in links.groups(stuck):
            cycle = links.cycle_through(group)
            on_cycles.update(cycle)
            problems.append(f"it has a cycle: {' -> '.join([*cycle, cycle[0]])}")
        never = [name for name in stuck if name not in on_cycles]
        if never:
            problems.append(f"{', '.join(never)} can never run (reached only through a cycle)")
        return problems

    def topological_order(self) -> list[str]:
        """Node names, each after all its predecessors (nodes on cycles left out)."""
        waiting = {node.name: len(self.predecessors(node.name)) for node in self.nodes}
        ready = deque(name for name, count in waiting.items() if count == 0)
        order = []
        while ready:
            name = ready.popleft()
            order.append(name)
            for successor in dict.fromkeys(edge.target for edge in self.outgoing(name)):
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    ready.append(successor)
        return order

    # progression

    def progress(self, states: Mapping[str, NodeState], run_input: Any) -> Progress:
        """The nodes that can start now (with their input) and those to skip, given every
        node's state. Skips are followed through: a node whose only paths were skipped is
        skipped in the same step."""
        current = dict(states)
        progress = Progress()
        for name in self.topological_order():
            if current[name].status is not NodeStatus.PENDING:
                continue
            incoming = self.incoming(name)
            if not incoming:
                progress.start[name] = run_input
                continue
            if not all(current[edge.source].status.ended for edge in incoming):
                continue
            if any(edge.taken(current[edge.source]) for edge in incoming):
                progress.start[name] = self.input_of(name, current)
            else:
                progress.skip.append(name)
                current[name] = NodeState(NodeStatus.SKIPPED)
        return progress

    def input_of(self, name: str, states: Mapping[str, NodeState]) -> Any:
        predecessors = self.predecessors(name)
        if len(predecessors) == 1:
            return states[predecessors[0]].output
        return {source: states[source].output for source in predecessors}

    def outcome(self, states: Mapping[str, NodeState]) -> Outcome | None:
        """How the run ended, or None while a node has not."""
        if not all(state.status.ended for state in states.values()):
            return None
        if any(state.status is NodeStatus.CANCELLED for state in states.values()):
            return Outcome(NodeStatus.CANCELLED, None, "cancelled")
        unhandled = [
            node.name
            for node in self.nodes
            if states[node.name].status.failed
            and not any(edge.kind is EdgeKind.ON_FAILURE for edge in self.outgoing(node.name))
        ]
        if unhandled:
            return Outcome(NodeStatus.FAILED, None, f"node(s) failed: {', '.join(unhandled)}")
        ends = [
            node.name
            for node in self.nodes
            if not self.outgoing(node.name) and states[node.name].status is NodeStatus.SUCCEEDED
        ]
        output = (
            states[ends[0]].output
            if len(ends) == 1
            else {name: states[name].output for name in ends}
        )
        return Outcome(NodeStatus.SUCCEEDED, output, None)

    # storage form

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [{"name": node.name, "event_id": node.event_id} for node in self.nodes],
            "edges": [
                {"source": e.source, "target": e.target, "kind": e.kind.value, "value": e.value}
                for e in self.edges
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Graph:
        return cls(
            nodes=tuple(Node(str(n["name"]), int(n["event_id"])) for n in data["nodes"]),
            edges=tuple(
                Edge(
                    str(e["source"]),
                    str(e["target"]),
                    EdgeKind(e.get("kind", "always")),
                    bool(e.get("value", True)),
                )
                for e in data.get("edges", ())
            ),
        )

    def event_ids(self) -> Iterable[int]:
        return dict.fromkeys(node.event_id for node in self.nodes)


@dataclass(frozen=True, slots=True)
class _Links:
    """A graph's nodes (each name once, in the order listed) and the links between them that
    are not problems of their own: what looking for cycles needs."""

    names: tuple[str, ...]
    after: dict[str, tuple[str, ...]]  # each node's successors, each once, in edge order

    @classmethod
    def of(cls, graph: Graph) -> _Links:
        names = tuple(dict.fromkeys(node.name for node in graph.nodes))
        after: dict[str, dict[str, None]] = {name: {} for name in names}
        for edge in graph.edges:
            if edge.source in after and edge.target in after and edge.source != edge.target:
                after[edge.source][edge.target] = None
        return cls(names, {name: tuple(targets) for name, targets in after.items()})

    def stuck(self) -> list[str]:
        """The nodes that wait forever: on a cycle, or after one (in the order listed)."""
        waiting = dict.fromkeys(self.names, 0)
        for targets in self.after.values():
            for target in targets:
                waiting[target] += 1
        ready = deque(name for name, count in waiting.items() if count == 0)
        while ready:
            for target in self.after[ready.popleft()]:
                waiting[target] -= 1
                if waiting[target] == 0:
                    ready.append(target)
        return [name for name, count in waiting.items() if count > 0]

    def groups(self, stuck: list[str]) -> list[list[str]]:
        """The groups of stuck nodes that each lead to one another (a cycle goes through
        each), in the order of their first node."""
        reach = {name: self._reach(name) for name in stuck}  # within the stuck nodes
        grouped: set[str] = set()
        groups = []
        for name in stuck:
            if name in grouped:
                continue
            group = [other for other in stuck if other in reach[name] and name in reach[other]]
            if len(group) > 1:
                groups.append(group)
                grouped.update(group)
        return groups

    def cycle_through(self, group: list[str]) -> list[str]:
        """A shortest cycle from the group's first node back to it, within the group."""
        start, members = group[0], set(group)
        came_from: dict[str, str] = {}
        frontier = deque([start])
        while frontier:
            current = frontier.popleft()
            for target in self.after[current]:
                if target == start:
                    path = [current]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return list(reversed(path))
                if target in members and target not in came_from:
                    came_from[target] = current
                    frontier.append(target)
        raise AssertionError(f"no cycle goes through {start}: {group} is not a group")

    def _reach(self, start: str) -> set[str]:
        """The nodes a path leads to from ``start``, itself included."""
        seen = {start}
        frontier = [start]
        while frontier:
            for target in self.after[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        return seen
