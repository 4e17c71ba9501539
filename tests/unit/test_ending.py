"""The planner of what follows a run's end (domain/ending.py), without a database."""

from datetime import UTC, datetime, timedelta

from cronium.domain.action import Action, ActionWhen
from cronium.domain.ending import (
    Ending,
    NodeEnd,
    NodeStart,
    Retry,
    Rules,
    RunState,
    plan_end,
    plan_run,
)
from cronium.domain.execution import ExecutionStatus
from cronium.domain.workflow import EdgeKind, Graph, NodeState, NodeStatus
from tests.factories import workflow_graph

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAILED = Ending(ExecutionStatus.FAILED, attempt=1, error="exit 1")
CHAIN = workflow_graph("a b c", ("a", "b"), ("b", "c", EdgeKind.ON_SUCCESS))


def _running(graph: Graph, node: str, pools: dict[int, str | None] | None = None) -> RunState:
    states = {name.name: NodeState() for name in graph.nodes}
    states[node] = NodeState(NodeStatus.RUNNING)
    every = {n.event_id: None for n in graph.nodes}
    return RunState(graph, states, {"run": "input"}, every if pools is None else pools)


def test_a_failure_with_attempts_left_is_retried_after_its_backoff() -> None:
    rules = Rules(max_attempts=3, retry_backoff=10, retry_backoff_max=60)
    plan = plan_end(FAILED, rules, NOW, jitter=0.0)
    assert plan.retry == Retry(attempt=2, due_at=NOW + timedelta(seconds=5))
    second = plan_end(Ending(ExecutionStatus.TIMED_OUT, attempt=2), rules, NOW, jitter=0.999999)
    assert second.retry is not None
    assert second.retry.due_at is not None
    assert round((second.retry.due_at - NOW).total_seconds()) == 20
    assert plan_end(Ending(ExecutionStatus.FAILED, attempt=3), rules, NOW).retry is None


def test_a_cancellation_or_a_success_is_never_retried() -> None:
    rules = Rules(max_attempts=5)
    for status in (ExecutionStatus.CANCELLED, ExecutionStatus.SUCCEEDED):
        assert plan_end(Ending(status), rules, NOW).retry is None


def test_a_lost_run_is_retried_at_once_and_runs_no_action() -> None:
    rules = Rules(max_attempts=2, actions=(Action(ActionWhen.FAILURE, 7),))
    plan = plan_end(Ending(ExecutionStatus.FAILED, lost=True), rules, NOW, targets={7: None})
    assert plan.retry == Retry(attempt=2, due_at=None)
    assert plan.actions == ()


def test_actions_queue_the_live_targets_that_match_with_their_pool() -> None:
    rules = Rules(
        actions=(
            Action(ActionWhen.FAILURE, 7),
            Action(ActionWhen.SUCCESS, 8),
            Action(ActionWhen.ALWAYS, 9),  # deleted or archived: not among the targets
            Action(ActionWhen.ALWAYS, 10),
        )
    )
    plan = plan_end(FAILED, rules, NOW, targets={7: "docker", 8: None, 10: None})
    assert plan.actions == ((7, "docker"), (10, None))
    cancelled = plan_end(Ending(ExecutionStatus.CANCELLED), rules, NOW, targets={7: None})
    assert cancelled.actions == ()


def test_a_node_that_succeeds_starts_the_next_with_its_output() -> None:
    ending = Ending(ExecutionStatus.SUCCEEDED, output={"n": 1})
    plan = plan_end(ending, Rules(), NOW, node="a", run=_running(CHAIN, "a", {1: None, 2: "p"}))
    assert plan.step is not None
    assert plan.step.ends == {"a": NodeEnd(NodeStatus.SUCCEEDED, {"n": 1})}
    assert plan.step.starts == (NodeStart("b", 2, {"n": 1}, "p"),)
    assert plan.step.outcome is None


def test_a_failed_node_skips_what_needs_its_success_and_fails_the_run() -> None:
    run = _running(CHAIN, "b")
    states = dict(run.nodes, a=NodeState(NodeStatus.SUCCEEDED))
    run = RunState(CHAIN, states, None, run.pools)
    plan = plan_end(FAILED, Rules(), NOW, node="b", run=run)
    assert plan.step is not None
    assert plan.step.ends["b"].status is NodeStatus.FAILED
    assert plan.step.ends["c"] == NodeEnd(NodeStatus.SKIPPED)
    assert plan.step.starts == ()
    assert plan.step.outcome is not None
    assert plan.step.outcome.status is NodeStatus.FAILED
    assert plan.step.outcome.error == "node(s) failed: b"


def test_a_node_whose_event_is_gone_fails_at_once_and_what_follows_is_resolved() -> None:
    run = _running(CHAIN, "a", pools={1: None, 3: None})
    plan = plan_end(Ending(ExecutionStatus.SUCCEEDED), Rules(), NOW, node="a", run=run)
    assert plan.step is not None
    assert plan.step.ends["b"] == NodeEnd(NodeStatus.FAILED, error="its event 2 no longer exists")
    assert plan.step.ends["c"].status is NodeStatus.SKIPPED
    assert plan.step.outcome is not None
    assert plan.step.outcome.status is NodeStatus.FAILED


def test_a_node_with_a_retry_goes_on_and_its_run_waits() -> None:
    plan = plan_end(FAILED, Rules(max_attempts=2), NOW, node="a", run=_running(CHAIN, "a"))
    assert plan.retry is not None
    assert plan.step is None


def test_in_a_cancelled_run_a_node_ends_and_nothing_starts() -> None:
    run = _running(CHAIN, "a")
    cancelled = RunState(run.graph, run.nodes, run.input, run.pools, running=False)
    plan = plan_end(Ending(ExecutionStatus.SUCCEEDED), Rules(), NOW, node="a", run=cancelled)
    assert plan.step is not None
    assert list(plan.step.ends) == ["a"]
    assert plan.step.starts == ()


def test_a_run_starts_its_start_nodes_with_its_input_and_ends_when_none_can() -> None:
    fan = workflow_graph("x y")
    pending = {"x": NodeState(), "y": NodeState()}
    step = plan_run(RunState(fan, pending, [1], {1: None, 2: None}))
    assert step.starts == (NodeStart("x", 1, [1], None), NodeStart("y", 2, [1], None))
    gone = plan_run(RunState(fan, pending, [1], {}))
    assert gone.starts == ()
    assert gone.outcome is not None
    assert gone.outcome.status is NodeStatus.FAILED


def test_a_plan_asks_for_the_events_it_was_not_told_of_then_plans_with_them() -> None:
    run = _running(CHAIN, "a", pools={})
    partial = RunState(run.graph, run.nodes, run.input, {}, looked_up=frozenset())
    ending = Ending(ExecutionStatus.SUCCEEDED, output=1)
    asked = plan_end(ending, Rules(), NOW, node="a", run=partial)
    assert asked.step is not None
    assert asked.step.needs == {2}
    assert asked.step.starts == ()
    told = plan_end(ending, Rules(), NOW, node="a", run=partial.knowing({2: "p"}, [2]))
    assert told.step is not None
    assert told.step.needs == frozenset()
    assert told.step.starts == (NodeStart("b", 2, 1, "p"),)
    gone = plan_end(ending, Rules(), NOW, node="a", run=partial.knowing({}, [2]))
    assert gone.step is not None
    assert gone.step.ends["b"].status is NodeStatus.FAILED
    assert gone.step.ends["c"].status is NodeStatus.SKIPPED
