"""What follows the end of an execution, decided from what is known. Pure: no I/O, no clock.

When an execution ends (its worker records it, its worker is lost, someone cancels it), three
things may follow: another attempt, the events its conditional actions name, and, for a node
of a workflow run, the run moving on (nodes skipped, nodes started, maybe the run's end).
:func:`plan_end` decides all of it; storage reads what the plan needs, and applies the plan in
the transaction that ended the execution. A run the plan ends is planned in turn, the same
way (its own retry and actions, and its own run if it is a node of one).

:func:`plan_run` is the workflow part alone: a run that starts plans its first nodes with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronium.domain.action import Action, ToolCall, actions_to_run, notifications_to_send
from cronium.domain.execution import ExecutionStatus, may_retry, retry_delay, should_retry
from cronium.domain.workflow import Graph, NodeState, NodeStatus, Outcome


@dataclass(frozen=True, slots=True)
class Rules:
    """What the ended execution's event says about what follows it."""

    max_attempts: int = 1
    retry_backoff: float = 10.0
    retry_backoff_max: float = 3600.0
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Ending:
    """The ended execution, as far as the plan needs it."""

    status: ExecutionStatus
    attempt: int = 1
    output: Any = None
    condition: bool | None = None
    error: str | None = None
    # its worker was lost: another attempt is due at once, whatever the status, and the
    # conditional actions do not run (the attempt that follows may still succeed)
    lost: bool = False


@dataclass(frozen=True, slots=True)
class RunState:
    """The workflow run an ended node belongs to (or a run that starts)."""

    graph: Graph
    nodes: Mapping[str, NodeState]
    input: Any
    # of the events of the graph's nodes that were looked up, those that still exist, with
    # their pool
    pools: Mapping[int, str | None]
    running: bool = True  # False once cancelled: nothing more starts
    # the events looked up, when not all the graph's were (a plan that needs another says so)
    looked_up: frozenset[int] | None = None

    def knowing(self, pools: Mapping[int, str | None], looked_up: Iterable[int]) -> RunState:
        """The same run, knowing of more events."""
        known = None if self.looked_up is None else self.looked_up | frozenset(looked_up)
        return dataclasses.replace(self, pools={**self.pools, **pools}, looked_up=known)


@dataclass(frozen=True, slots=True)
class NodeEnd:
    """A node that ends now."""

    status: NodeStatus
    output: Any = None
    condition: bool | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class NodeStart:
    """A node that starts now: an execution of its event is queued with this input."""

    name: str
    event_id: int
    input: Any
    pool: str | None


@dataclass(frozen=True, slots=True)
class Step:
    """What a workflow run does now: nodes that end, nodes that start, and its end if this
    is it."""

    ends: dict[str, NodeEnd] = field(default_factory=dict)
    starts: tuple[NodeStart, ...] = ()
    outcome: Outcome | None = None
    # events the step needs to know of first (look them up, then plan again); nothing else
    # in the step holds then
    needs: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Retry:
    """Another attempt of the ended execution, due at ``due_at`` (None: at once)."""

    attempt: int
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class EndPlan:
    """What must happen because an execution ended."""

    retry: Retry | None = None
    actions: tuple[tuple[int, str | None], ...] = ()  # events to queue, with their pool
    notifications: tuple[ToolCall, ...] = ()  # messages to send (deliveries to record)
    # for a node: what its run does (None when the node goes on with its retry)
    step: Step | None = None


def plan_end(
    ending: Ending,
    rules: Rules,
    now: datetime,
    *,
    jitter: float = 0.5,
    node: str | None = None,
    run: RunState | None = None,
    targets: Mapping[int, str | None] | None = None,
) -> EndPlan:
    """The plan for an execution that ended: ``node`` and ``run`` when it is a node of a
    workflow run; ``targets``, the events its actions may queue (those that exist and are not
    archived, with their pool); ``jitter`` in [0, 1) spreads the retry's backoff. When the run's
    step ``needs`` events the run state did not look up, plan again knowing of them."""
    retry = _retry(ending, rules, now, jitter)
    actions: tuple[tuple[int, str | None], ...] = ()
    notifications: tuple[ToolCall, ...] = ()
    if not ending.lost:
        live = targets or {}
        names = actions_to_run(rules.actions, ending.status, ending.condition)
        actions = tuple((event_id, live[event_id]) for event_id in names if event_id in live)
        notifications = tuple(notifications_to_send(rules.actions, ending.status, ending.condition))
    step = None
    if node is not None and run is not None and node in run.nodes and retry is None:
        step = _node_ended(node, ending, run)
    return EndPlan(retry=retry, actions=actions, notifications=notifications, step=step)


def _retry(ending: Ending, rules: Rules, now: datetime, jitter: float) -> Retry | None:
    if ending.lost:
        return (
            Retry(ending.attempt + 1, None)
            if may_retry(ending.attempt, rules.max_attempts)
            else None
        )
    if not should_retry(ending.status, ending.attempt, rules.max_attempts):
        return None
    delay = retry_delay(ending.attempt, rules.retry_backoff, rules.retry_backoff_max, jitter)
    return Retry(ending.attempt + 1, now + delay)


def _node_ended(node: str, ending: Ending, run: RunState) -> Step:
    end = NodeEnd(NodeStatus(ending.status.value), ending.output, ending.condition, ending.error)
    if not run.running:
        return Step(ends={node: end})  # the run was cancelled: nothing more starts
    states = {**run.nodes, node: NodeState(end.status, end.output, end.condition)}
    step = plan_run(dataclasses.replace(run, nodes=states))
    if step.needs:
        return step
    return Step(ends={node: end, **step.ends}, starts=step.starts, outcome=step.outcome)


def plan_run(run: RunState) -> Step:
    """Skip and start what the nodes' states call for, again while a node fails at once
    because its event is gone (so that what follows it is resolved too); the run's outcome if
    that ends it."""
    states = dict(run.nodes)
    ends: dict[str, NodeEnd] = {}
    starts: list[NodeStart] = []
    for _ in range(len(states) + 1):
        progress = run.graph.progress(states, run.input)
        unknown = {run.graph.node(name).event_id for name in progress.start} - _known(run)
        if unknown:
            return Step(needs=frozenset(unknown))
        for name in progress.skip:
            ends[name] = NodeEnd(NodeStatus.SKIPPED)
            states[name] = NodeState(NodeStatus.SKIPPED)
        gone = False
        for name, node_input in progress.start.items():
            event_id = run.graph.node(name).event_id
            if event_id in run.pools:
                starts.append(NodeStart(name, event_id, node_input, run.pools[event_id]))
                states[name] = NodeState(NodeStatus.RUNNING)
            else:  # the event was deleted since the run started
                error = f"its event {event_id} no longer exists"
                ends[name] = NodeEnd(NodeStatus.FAILED, error=error)
                states[name] = NodeState(NodeStatus.FAILED)
                gone = True
        if not gone:
            break
    return Step(ends=ends, starts=tuple(starts), outcome=run.graph.outcome(states))


def _known(run: RunState) -> set[int]:
    """The events the plan may decide about: every one, or those looked up."""
    if run.looked_up is None:
        return set(run.graph.event_ids())
    return set(run.looked_up)
