"""Workflows (domain/workflow.py): validation, progression, and the states of a node."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cronium.domain.execution import ExecutionStatus
from cronium.domain.workflow import (
    EdgeKind,
    Graph,
    NodeState,
    NodeStatus,
    check_node_transition,
)
from cronium.errors import InvalidInputError, InvalidTransitionError
from tests.factories import workflow_graph as graph

S, F, C, A = EdgeKind.ON_SUCCESS, EdgeKind.ON_FAILURE, EdgeKind.ON_CONDITION, EdgeKind.ALWAYS


def play(g: Graph, results: dict[str, NodeState], run_input: Any = "in") -> dict[str, Any]:
    """Run the graph to its end, each started node ending as ``results`` says; the log of
    what started (with its input) and what was skipped."""
    states = {node.name: NodeState() for node in g.nodes}
    started: dict[str, Any] = {}
    for _ in range(len(g.nodes) + 1):
        progress = g.progress(states, run_input)
        if not progress.start and not progress.skip:
            break
        for name in progress.skip:
            states[name] = NodeState(NodeStatus.SKIPPED)
        for name, node_input in progress.start.items():
            started[name] = node_input
            states[name] = results.get(name, NodeState(NodeStatus.SUCCEEDED, f"{name}-out"))
    outcome = g.outcome(states)
    assert outcome is not None, "the run did not end"
    return {
        "started": started,
        "skipped": sorted(n for n, s in states.items() if s.status is NodeStatus.SKIPPED),
        "outcome": (outcome.status, outcome.output, outcome.error),
    }


def test_a_diamond_joins_both_branches_with_input_keyed_by_name() -> None:
    g = graph("a b c d", ("a", "b", S), ("a", "c", S), ("b", "d", S), ("c", "d", S))
    result = play(g, {})
    assert result["started"] == {
        "a": "in",
        "b": "a-out",
        "c": "a-out",
        "d": {"b": "b-out", "c": "c-out"},
    }
    assert result["outcome"] == (NodeStatus.SUCCEEDED, "d-out", None)


def test_start_nodes_start_together_and_parallel_branches_are_ready_together() -> None:
    g = graph("a b c", ("a", "c", S), ("b", "c", S))
    first = g.progress({n.name: NodeState() for n in g.nodes}, 1)
    assert (first.start, first.skip) == ({"a": 1, "b": 1}, [])
    one_done = {
        "a": NodeState(NodeStatus.SUCCEEDED, 2),
        "b": NodeState(NodeStatus.RUNNING),
        "c": NodeState(),
    }
    assert g.progress(one_done, 1) == type(first)()  # c waits for b


@pytest.mark.parametrize("condition", [True, False, None])
def test_a_condition_is_taken_either_way(condition: bool | None) -> None:
    g = graph("check yes no", ("check", "yes", C, True), ("check", "no", C, False))
    result = play(g, {"check": NodeState(NodeStatus.SUCCEEDED, 5, condition)})
    taken = "yes" if condition else "no"
    assert set(result["started"]) == {"check", taken}
    assert result["skipped"] == ["no" if condition else "yes"]
    assert result["outcome"][0] is NodeStatus.SUCCEEDED


def test_a_failure_path_handles_the_failure() -> None:
    g = graph("work notify next", ("work", "notify", F), ("work", "next", S))
    result = play(g, {"work": NodeState(NodeStatus.FAILED, {"why": "x"})})
    assert result["started"] == {"work": "in", "notify": {"why": "x"}}
    assert result["skipped"] == ["next"]
    assert result["outcome"] == (NodeStatus.SUCCEEDED, "notify-out", None)


def test_an_unhandled_failure_fails_the_run() -> None:
    g = graph("a b", ("a", "b", S))
    result = play(g, {"a": NodeState(NodeStatus.TIMED_OUT)})
    assert result["outcome"] == (NodeStatus.FAILED, None, "node(s) failed: a")


def test_skips_flow_downstream_but_not_past_another_path() -> None:
    g = graph(
        "a b c d e",
        ("a", "b", C), ("b", "c", S), ("c", "e", S), ("a", "d", S), ("d", "e", A),
    )  # fmt: skip
    result = play(g, {"a": NodeState(NodeStatus.SUCCEEDED, 1, False)})
    assert result["skipped"] == ["b", "c"]
    assert result["started"]["e"] == {"c": None, "d": "d-out"}


def test_a_node_all_of_whose_paths_are_skipped_is_skipped_and_nothing_hangs() -> None:
    g = graph("a b c d", ("a", "b", F), ("a", "c", F), ("b", "d", S), ("c", "d", S))
    result = play(g, {})
    assert result["skipped"] == ["b", "c", "d"]
    assert result["outcome"] == (NodeStatus.SUCCEEDED, {}, None)


def test_a_cancelled_node_cancels_the_run() -> None:
    g = graph("a b", ("a", "b", A))
    result = play(g, {"a": NodeState(NodeStatus.CANCELLED)})
    assert result["skipped"] == ["b"]
    assert result["outcome"][0] is NodeStatus.CANCELLED


@pytest.mark.parametrize(
    ("g", "message"),
    [
        (graph("a b", ("a", "b", S), ("b", "a", S)), "it has a cycle: a -> b -> a"),
        (graph("s a b c", ("s", "a", S), ("a", "b", S), ("b", "a", S), ("b", "c", S)),
         "c can never run (reached only through a cycle)"),
        (graph("a", ("a", "a", S)), "links a node to itself"),
        (graph("a b", ("a", "b", S), ("a", "b", F)), "two edges go from a to b"),
        (graph("a", ("a", "zz", S)), "no node is named 'zz'"),
        (graph("a a"), "two nodes are named 'a'"),
        (graph("a/b"), "is not valid"),
        (Graph(nodes=()), "no nodes"),
    ],
)  # fmt: skip
def test_bad_graphs_are_refused_with_every_reason(g: Graph, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        g.check()


def test_a_graph_survives_its_json_form() -> None:
    g = graph("a b", ("a", "b", C, False))
    assert Graph.from_json(g.to_json()) == g


@pytest.mark.parametrize(
    ("current", "target"),
    [(NodeStatus.SUCCEEDED, NodeStatus.FAILED), (NodeStatus.RUNNING, NodeStatus.SKIPPED),
     (NodeStatus.SKIPPED, NodeStatus.RUNNING)],
)  # fmt: skip
def test_an_ended_or_running_node_cannot_go_back(current: NodeStatus, target: NodeStatus) -> None:
    with pytest.raises(InvalidTransitionError):
        check_node_transition(current, target)


def test_node_statuses_mirror_the_ends_of_executions() -> None:
    for status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
        check_node_transition(NodeStatus.RUNNING, NodeStatus(status.value))
