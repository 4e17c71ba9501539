"""Workflow runs with real scripts in the native sandbox, a real worker loop, both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.schedule import Schedule
from cronium.domain.user import User
from cronium.domain.workflow import EdgeKind, NodeRun, NodeStatus
from cronium.errors import SandboxUnavailableError
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.native import NativeBackend
from cronium.scheduler import Scheduler
from cronium.service import Service
from cronium.settings import WorkerSettings
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.worker import Worker
from tests.backends import missing
from tests.factories import python_event, workflow_event, workflow_graph
from tests.polling import until

S, F, C, A = EdgeKind.ON_SUCCESS, EdgeKind.ON_FAILURE, EdgeKind.ON_CONDITION, EdgeKind.ALWAYS
ADD_ONE = "import cronium\ncronium.output(cronium.input() + 1)\n"
DOUBLE = "import cronium\ncronium.output(cronium.input() * 2)\n"
SUM = "import cronium\ncronium.output(sum(v for v in cronium.input().values() if v))\n"
BIG = "import cronium\nn = cronium.input()\ncronium.set_condition(n > 5)\ncronium.output(n)\n"
FAIL = "import cronium\ncronium.output({'why': 'no disk'})\nraise SystemExit(3)\n"
NAP = "import time\ntime.sleep(30)\n"


@dataclass
class Flows:
    store: Store
    service: Service
    user: User
    worker: Worker

    async def event(self, script: str, **options: Any) -> int:
        fields = python_event(script, timeout_seconds=60, **options)
        return (await self.service.create_event(self.user, fields)).id

    async def workflow(self, nodes: dict[str, int], *edges: Any, **options: Any) -> int:
        fields = workflow_event(workflow_graph(nodes, *edges), **options)
        return (await self.service.create_event(self.user, fields)).id

    async def run(
        self, workflow_id: int, input: Any = None
    ) -> tuple[Execution, dict[str, NodeRun]]:
        run = await self.service.run_event(self.user, workflow_id, input)
        return await self.finished(run.id)

    async def finished(self, run_id: int) -> tuple[Execution, dict[str, NodeRun]]:
        return await until(lambda: self.ended(run_id), 60, f"workflow run {run_id} ending")

    async def ended(self, run_id: int) -> tuple[Execution, dict[str, NodeRun]] | None:
        """The run and its nodes by name, once it has ended."""
        run, nodes = await self.service.get_workflow_run(self.user, run_id)
        if run.status.is_terminal:
            return run, {node.node: node for node in nodes}
        return None


@pytest.fixture
async def flows(database_url: str) -> AsyncIterator[Flows]:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    engine = create_engine(database_url)
    store = Store(engine)
    service = Service(store)
    user, _ = await service.accounts.create_admin("flows")
    runtime = RuntimeServer(database_url)
    await asyncio.to_thread(runtime.start)
    worker = Worker(store, NativeBackend(), WorkerSettings(poll_interval=0.2), runtime=runtime)
    service.notify_on_enqueue(worker.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    try:
        yield Flows(store, service, user, worker)
    finally:
        stop.set()
        await loop
        await asyncio.to_thread(runtime.stop)
        await engine.dispose()


def statuses(nodes: dict[str, NodeRun]) -> dict[str, str]:
    return {name: node.status.value for name, node in nodes.items()}


async def test_a_diamond_passes_data_and_joins_with_input_keyed_by_name(flows: Flows) -> None:
    add, double, total = [await flows.event(s) for s in (ADD_ONE, DOUBLE, SUM)]
    workflow = await flows.workflow(
        {"a": add, "b": double, "c": add, "d": total},
        ("a", "b", S), ("a", "c", S), ("b", "d", S), ("c", "d", S),
    )  # fmt: skip
    run, nodes = await flows.run(workflow, 1)
    assert run.status is ExecutionStatus.SUCCEEDED, (run.error, statuses(nodes))
    assert {n: node.output for n, node in nodes.items()} == {"a": 2, "b": 4, "c": 3, "d": 7}
    assert nodes["d"].input == {"b": 4, "c": 3}
    assert run.output == 7
    for node in nodes.values():  # each node links to the execution that ran it
        execution = await flows.store.executions.get(node.execution_id or 0)
        assert (execution.parent_id, execution.node) == (run.id, node.node)
        assert execution.trigger == "workflow"


@pytest.mark.parametrize(("value", "taken", "skipped"), [(9, "big", "small"), (2, "small", "big")])
async def test_a_condition_is_taken_either_way_and_skips_flow_downstream(
    flows: Flows, value: int, taken: str, skipped: str
) -> None:
    check, add = await flows.event(BIG), await flows.event(ADD_ONE)
    workflow = await flows.workflow(
        {"check": check, "big": add, "small": add, "after_big": add},
        ("check", "big", C, True), ("check", "small", C, False), ("big", "after_big", S),
    )  # fmt: skip
    run, nodes = await flows.run(workflow, value)
    assert run.status is ExecutionStatus.SUCCEEDED
    assert nodes[taken].status is NodeStatus.SUCCEEDED
    assert nodes[skipped].status is NodeStatus.SKIPPED
    assert nodes["after_big"].status is (
        NodeStatus.SUCCEEDED if taken == "big" else NodeStatus.SKIPPED
    )


async def test_a_failure_path_handles_a_failure_and_the_run_succeeds(flows: Flows) -> None:
    fail, add = (
        await flows.event(FAIL),
        await flows.event("import cronium\ncronium.output(cronium.input())\n"),
    )
    workflow = await flows.workflow(
        {"work": fail, "alert": add, "next": add}, ("work", "alert", F), ("work", "next", S)
    )
    run, nodes = await flows.run(workflow)
    assert statuses(nodes) == {"work": "failed", "alert": "succeeded", "next": "skipped"}
    assert nodes["alert"].input == {"why": "no disk"}
    assert run.status is ExecutionStatus.SUCCEEDED


async def test_an_unhandled_failure_fails_the_run(flows: Flows) -> None:
    fail, add = await flows.event(FAIL), await flows.event(ADD_ONE)
    run, nodes = await flows.run(
        await flows.workflow({"work": fail, "next": add}, ("work", "next", S))
    )
    assert run.status is ExecutionStatus.FAILED
    assert run.error == "node(s) failed: work"
    assert statuses(nodes) == {"work": "failed", "next": "skipped"}


async def test_a_failed_node_is_retried_within_the_run(flows: Flows) -> None:
    once = (
        "import cronium\n"
        "if not cronium.get_variable('tried'):\n"
        "    cronium.set_variable('tried', True)\n"
        "    raise SystemExit(1)\n"
        "cronium.output('second time')\n"
    )
    flaky = await flows.event(once, max_attempts=2, retry_backoff_seconds=0)
    run, nodes = await flows.run(await flows.workflow({"flaky": flaky}))
    assert run.status is ExecutionStatus.SUCCEEDED
    assert (nodes["flaky"].output, run.output) == ("second time", "second time")
    latest = await flows.store.executions.get(nodes["flaky"].execution_id or 0)
    assert (latest.attempt, latest.parent_id) == (2, run.id)


async def test_parallel_branches_run_at_the_same_time(flows: Flows) -> None:
    nap = await flows.event("import time, cronium\ntime.sleep(1)\ncronium.output(1)\n")
    join = await flows.event(SUM)
    workflow = await flows.workflow(
        {"left": nap, "right": nap, "join": join}, ("left", "join", S), ("right", "join", S)
    )
    run, nodes = await flows.run(workflow)
    assert run.output == 2
    left, right = nodes["left"], nodes["right"]
    assert left.started_at is not None
    assert right.started_at is not None
    assert left.finished_at is not None
    assert right.finished_at is not None
    assert left.started_at < right.finished_at  # they overlapped
    assert right.started_at < left.finished_at


async def test_cancelling_a_run_stops_its_running_nodes_and_starts_no_more(flows: Flows) -> None:
    nap, add = await flows.event(NAP), await flows.event(ADD_ONE)
    workflow = await flows.workflow({"slow": nap, "then": add}, ("slow", "then", A))
    started = await flows.service.run_event(flows.user, workflow)

    async def slow_running() -> bool:
        _, nodes = await flows.service.get_workflow_run(flows.user, started.id)
        execution_id = nodes[0].execution_id if nodes else None
        return bool(execution_id) and (
            (await flows.store.executions.get(execution_id or 0)).status == "running"
        )

    async def slow_ended() -> dict[str, NodeRun] | None:
        _, nodes = await flows.finished(started.id)
        return nodes if nodes["slow"].status.ended else None

    await until(slow_running, 20, "the slow node running")
    await flows.service.cancel_execution(flows.user, started.id)
    run, _ = await flows.finished(started.id)
    assert run.status is ExecutionStatus.CANCELLED
    done = await until(slow_ended, 10, "the running node stopping")
    assert statuses(done) == {"slow": "cancelled", "then": "cancelled"}
    slow = await flows.store.executions.get(done["slow"].execution_id or 0)
    assert slow.status is ExecutionStatus.CANCELLED


async def test_a_schedule_starts_runs_like_any_event(flows: Flows) -> None:
    tick = await flows.event("import cronium\ncronium.output('tick')\n")
    workflow = await flows.store.events.get(
        await flows.workflow({"a": tick}, schedule=Schedule.of_cron("* * * * * *"))
    )
    assert workflow.schedule is not None
    (due,) = workflow.schedule.next_fires(workflow.schedule_cursor or workflow.created_at, 1)
    (run,) = await Scheduler(flows.store).run_once(due)  # the time of its first fire
    done, nodes = await flows.finished(run.id)
    assert (done.trigger, done.status) == ("schedule", ExecutionStatus.SUCCEEDED)
    assert nodes["a"].status is NodeStatus.SUCCEEDED
