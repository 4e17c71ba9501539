"""Workflow runs in the database: starting them, moving them on, cancelling them.

A run of a workflow is an execution of its workflow event; each node of the run is a row of
``workflow_nodes`` and, once started, an execution whose ``parent_id`` is the run. A run moves
on in the transaction that ends one of its nodes' executions (see ``endings.py``), so progress
needs no polling and lives in the database: a restart carries on where the run was. The run
row is locked while it moves on, so two nodes ending at once on PostgreSQL are handled one
after the other. The graph a run follows is that of the workflow version it started with.
What to do is decided by the planner (``domain/ending.py``); this module reads what it needs
and applies its steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from cronium.domain.ending import RunState, Step, plan_run
from cronium.domain.execution import ExecutionStatus
from cronium.domain.workflow import Graph, NodeRun, NodeState, NodeStatus, Outcome
from cronium.errors import NotFoundError
from cronium.storage.executions import change_node_status, change_one, change_status
from cronium.storage.rows import new_execution
from cronium.storage.tables import EventRow, EventVersionRow, ExecutionRow, WorkflowNodeRow
from cronium.storage.transactions import CANCEL_CHANNEL, QUEUE_CHANNEL, Database, Unit

RUN_CANCELLED = "cancelled: its workflow run was cancelled"


class Runs:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def nodes(self, run_id: int) -> list[NodeRun]:
        """The nodes of a workflow run, in the order of the workflow."""
        async with self.db.read() as session:
            if await session.get(ExecutionRow, run_id) is None:
                raise NotFoundError(f"no execution has id {run_id}")
            rows = await session.scalars(
                select(WorkflowNodeRow)
                .where(WorkflowNodeRow.run_id == run_id)
                .order_by(WorkflowNodeRow.id)
            )
            return [
                NodeRun(
                    node=row.node,
                    status=NodeStatus(row.status),
                    execution_id=row.execution_id,
                    input=row.input,
                    output=row.output,
                    condition=row.condition,
                    error=row.error,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                )
                for row in rows
            ]


async def lock_run_of(unit: Unit, execution_id: int) -> None:
    """Lock the workflow run the execution belongs to (if any) before the execution, the
    order every transaction that touches both follows (no deadlock on PostgreSQL)."""
    if unit.dialect != "postgresql":
        return  # SQLite: one writer at a time
    parent = await unit.session.scalar(
        select(ExecutionRow.parent_id).where(ExecutionRow.id == execution_id)
    )
    if parent is not None:
        await unit.session.execute(
            select(ExecutionRow.id).where(ExecutionRow.id == parent).with_for_update()
        )


async def start_run(unit: Unit, run: ExecutionRow, event: EventRow) -> Step:
    """Make the nodes of a claimed workflow execution; the plan of its first step.

    The run belongs to no worker and has no lease: it lasts as long as its nodes do.
    """
    run.worker_id, run.lease_expires_at = None, None
    graph = Graph.from_json(event.workflow or {"nodes": []})
    unit.session.add_all(
        WorkflowNodeRow(run_id=run.id, node=node.name, status=NodeStatus.PENDING)
        for node in graph.nodes
    )
    pending = {node.name: NodeState(NodeStatus.PENDING) for node in graph.nodes}
    starts = [graph.node(name).event_id for name in graph.starts()]
    state = await learn(
        unit, RunState(graph, pending, run.input, {}, looked_up=frozenset()), starts
    )
    step = plan_run(state)
    while step.needs:  # bounded: each round looks up events not looked up before
        state = await learn(unit, state, step.needs)
        step = plan_run(state)
    return step


async def learn(unit: Unit, state: RunState, event_ids: Iterable[int]) -> RunState:
    """The run state, knowing also whether the events ``event_ids`` exist, and their pools
    (their rows stay in the unit of work: the worker taking a node next needs them)."""
    wanted = list(event_ids)
    found = await unit.events(wanted)
    return state.knowing({event_id: row.pool for event_id, row in found.items()}, wanted)


async def locked_run(unit: Unit, ended: ExecutionRow) -> ExecutionRow | None:
    """The (locked) run an execution is a node of, or None."""
    if ended.parent_id is None or ended.node is None:
        return None
    return await unit.session.scalar(
        select(ExecutionRow).where(ExecutionRow.id == ended.parent_id).with_for_update()
    )


async def state_of(unit: Unit, run: ExecutionRow, ended: str | None) -> RunState:
    """What the planner needs to know of a run whose node ``ended`` just did: its graph, its
    nodes, and the events of the nodes that may start next (those the end leads to; the plan
    says if it needs more)."""
    graph = await _graph_of(unit, run)
    rows = await unit.session.scalars(
        select(WorkflowNodeRow)
        .where(WorkflowNodeRow.run_id == run.id)
        .execution_options(populate_existing=True)  # nodes change by Core statements
    )
    nodes = {row.node: NodeState(NodeStatus(row.status), row.output, row.condition) for row in rows}
    running = run.status == ExecutionStatus.RUNNING
    state = RunState(graph, nodes, run.input, {}, running, looked_up=frozenset())
    following = (
        [] if ended is None else [graph.node(e.target).event_id for e in graph.outgoing(ended)]
    )
    return await learn(unit, state, following)


async def apply_step(
    unit: Unit, run: ExecutionRow, step: Step, now: datetime, ended: str | None = None
) -> list[ExecutionRow]:
    """Apply one step of a run (``ended``: the node whose execution just ended, if any);
    the executions it queued."""
    skipped = [name for name, end in step.ends.items() if end.status is NodeStatus.SKIPPED]
    await change_node_status(
        unit, run.id, skipped, {NodeStatus.PENDING}, NodeStatus.SKIPPED, finished_at=now
    )
    for name, end in step.ends.items():
        if end.status is not NodeStatus.SKIPPED:
            expected = NodeStatus.RUNNING if name == ended else NodeStatus.PENDING
            await change_node_status(
                unit,
                run.id,
                [name],
                {expected},
                end.status,
                finished_at=now,
                output=end.output,
                condition=end.condition,
                error=end.error,
            )
    queued = []
    for start in step.starts:
        execution = new_execution(start.event_id, input=start.input, now=now, priority=run.priority)
        execution.trigger, execution.pool = "workflow", start.pool
        execution.parent_id, execution.node = run.id, start.name
        unit.session.add(execution)
        await unit.session.flush()
        queued.append(execution)
        await change_node_status(
            unit,
            run.id,
            [start.name],
            {NodeStatus.PENDING},
            NodeStatus.RUNNING,
            execution_id=execution.id,
            input=start.input,
            started_at=now,
        )
    if queued:
        await unit.notify(QUEUE_CHANNEL)
    return queued


async def end_run(
    unit: Unit, run: ExecutionRow, outcome: Outcome, now: datetime
) -> ExecutionRow | None:
    """Give a running run the end its nodes came to; the run's row, or None if it had
    ended already."""
    return await change_one(
        unit,
        run.id,
        ExecutionStatus.RUNNING,
        ExecutionStatus(outcome.status.value),
        output=outcome.output,
        error=outcome.error,
        finished_at=now,
    )


async def cancel_run(
    unit: Unit, run: ExecutionRow, now: datetime, reason: str = "cancelled"
) -> ExecutionRow | None:
    """Cancel a running workflow run with every node that has not ended (running nodes are
    asked to stop); the run's row, or None if it had ended already."""
    cancelled = await change_one(
        unit,
        run.id,
        ExecutionStatus.RUNNING,
        ExecutionStatus.CANCELLED,
        finished_at=now,
        error=reason,
    )
    if cancelled is None:
        return None
    dropped = await change_status(
        unit,
        ExecutionStatus.QUEUED,
        ExecutionStatus.CANCELLED,
        ExecutionRow.parent_id == run.id,
        finished_at=now,
        error=RUN_CANCELLED,
    )
    nodes = list(
        await unit.session.scalars(
            select(WorkflowNodeRow)
            .where(WorkflowNodeRow.run_id == run.id)
            .execution_options(populate_existing=True)
        )
    )
    dropped_ids = {row.id for row in dropped}
    values = {"finished_at": now, "error": RUN_CANCELLED}
    pending = [node.node for node in nodes if node.status == NodeStatus.PENDING]
    waiting = [node.node for node in nodes if node.execution_id in dropped_ids]
    for names, expected in ((pending, NodeStatus.PENDING), (waiting, NodeStatus.RUNNING)):
        await change_node_status(unit, run.id, names, {expected}, NodeStatus.CANCELLED, **values)
    running = await unit.session.scalars(
        update(ExecutionRow)
        .where(ExecutionRow.parent_id == run.id, ExecutionRow.status == ExecutionStatus.RUNNING)
        .values(cancel_requested_at=now)
        .returning(ExecutionRow.id)
    )
    for execution_id in running:
        await unit.notify(CANCEL_CHANNEL, str(execution_id))
    return cancelled


async def _graph_of(unit: Unit, run: ExecutionRow) -> Graph:
    settings = await unit.session.scalar(
        select(EventVersionRow.settings).where(
            EventVersionRow.event_id == run.event_id,
            EventVersionRow.version == run.event_version,
        )
    )
    if settings is None or settings.get("workflow") is None:
        event = await unit.event(run.event_id)
        return Graph.from_json((event.workflow if event else None) or {"nodes": []})
    return Graph.from_json(settings["workflow"])
