"""Workflow runs in the database: starting them, moving them on, cancelling them.

A run of a workflow is an execution of its workflow event; each node of the run is a row of
``workflow_nodes`` and, once started, an execution whose ``parent_id`` is the run. A run
moves on in the transaction that ends one of its nodes' executions (the worker's record, a
lost worker's requeue, a cancellation), so progress needs no polling and lives in the database:
a restart carries on where the run was. The run row is locked while it moves on, so two nodes
ending at once on PostgreSQL are handled one after the other. The graph a run follows is that
of the workflow version it started with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cronium.domain.execution import ExecutionStatus
from cronium.domain.workflow import Graph, NodeRun, NodeState, NodeStatus, Progress
from cronium.errors import NotFoundError
from cronium.storage.gateway import CANCEL_CHANNEL, QUEUE_CHANNEL, Gateway
from cronium.storage.rows import new_execution
from cronium.storage.tables import EventRow, EventVersionRow, ExecutionRow, WorkflowNodeRow

RUN_CANCELLED = "cancelled: its workflow run was cancelled"


class WorkflowOperations(Gateway):
    async def _held_event(self, session: AsyncSession, event_id: int) -> EventRow | None:
        """The event's row, read once per transaction (a session keeps only weak references
        to what it loaded, so a row read and dropped would be read again)."""
        held: dict[int, EventRow | None] = session.info.setdefault("events", {})
        if event_id not in held:
            held[event_id] = await session.get(EventRow, event_id)
        return held[event_id]

    async def _start_run(
        self, session: AsyncSession, run: ExecutionRow, event: EventRow, now: datetime
    ) -> ExecutionRow | None:
        """Start a claimed workflow execution: its nodes, and the start nodes' executions; the
        run's row if it ended at once (no node could start).

        The run belongs to no worker and has no lease: it lasts as long as its nodes do.
        """
        run.worker_id, run.lease_expires_at = None, None
        graph = Graph.from_json(event.workflow or {"nodes": []})
        nodes = {
            node.name: WorkflowNodeRow(run_id=run.id, node=node.name, status=NodeStatus.PENDING)
            for node in graph.nodes
        }
        session.add_all(nodes.values())
        return await self._move_on(session, run, graph, nodes, now)

    async def _advance(
        self, session: AsyncSession, ended: ExecutionRow, now: datetime, retry: ExecutionRow | None
    ) -> ExecutionRow | None:
        """Record the end of a node's execution on its run and move the run on; the run's row
        if this ended it (the caller then handles the run's own end)."""
        if ended.parent_id is None or ended.node is None:
            return None
        run = await session.scalar(
            select(ExecutionRow).where(ExecutionRow.id == ended.parent_id).with_for_update()
        )
        if run is None:
            return None
        nodes = await self._nodes(session, run.id)
        node = nodes.get(ended.node)
        if node is None:
            return None
        if retry is not None:  # the node goes on with its next attempt
            retry.parent_id, retry.node = ended.parent_id, ended.node
            node.execution_id = retry.id
            return None
        node.status, node.finished_at = ended.status, now
        node.output, node.condition, node.error = ended.output, ended.condition, ended.error
        if run.status != ExecutionStatus.RUNNING:
            return None  # the run was cancelled: nothing more starts
        graph = await self._graph_of(session, run)
        return await self._move_on(session, run, graph, nodes, now)

    async def _move_on(
        self,
        session: AsyncSession,
        run: ExecutionRow,
        graph: Graph,
        nodes: dict[str, WorkflowNodeRow],
        now: datetime,
    ) -> ExecutionRow | None:
        """Skip and start what the nodes' states call for (again while a node fails on the
        spot because its event is gone, so that what follows it is resolved too); the run's
        row if that ended the run."""
        for _ in range(len(nodes) + 1):
            progress = graph.progress({name: _state(row) for name, row in nodes.items()}, run.input)
            if not await self._apply(session, run, graph, nodes, progress, now):
                break
        outcome = graph.outcome({name: _state(row) for name, row in nodes.items()})
        if outcome is None:
            return None
        run.status = ExecutionStatus(outcome.status.value)
        run.output, run.error, run.finished_at = outcome.output, outcome.error, now
        return run

    async def _apply(
        self,
        session: AsyncSession,
        run: ExecutionRow,
        graph: Graph,
        nodes: dict[str, WorkflowNodeRow],
        progress: Progress,
        now: datetime,
    ) -> bool:
        """Whether a node failed on the spot."""
        for name in progress.skip:
            nodes[name].status, nodes[name].finished_at = NodeStatus.SKIPPED, now
        if not progress.start:
            return False
        event_ids = [graph.node(name).event_id for name in progress.start]
        held: dict[int, EventRow | None] = session.info.setdefault("events", {})
        missing = [event_id for event_id in event_ids if event_id not in held]
        if missing:  # the worker taking a node next needs them too
            held.update(dict.fromkeys(missing))
            for event in await session.scalars(select(EventRow).where(EventRow.id.in_(missing))):
                held[event.id] = event
        pools = {event_id: row.pool for event_id, row in held.items() if row is not None}
        failed = False
        for name, node_input in progress.start.items():
            event_id = graph.node(name).event_id
            if event_id not in pools:  # the event was deleted since the run started
                node = nodes[name]
                node.status, node.finished_at = NodeStatus.FAILED, now
                node.error = f"its event {event_id} no longer exists"
                failed = True
                continue
            execution = new_execution(event_id, input=node_input, now=now, priority=run.priority)
            execution.trigger, execution.pool = "workflow", pools[event_id]
            execution.parent_id, execution.node = run.id, name
            session.add(execution)
            await session.flush()
            session.info.setdefault("started", []).append(execution)
            node = nodes[name]
            node.status, node.execution_id = NodeStatus.RUNNING, execution.id
            node.input, node.started_at = node_input, now
        if not all(nodes[name].status == NodeStatus.FAILED for name in progress.start):
            await self._notify(session, QUEUE_CHANNEL)  # something was queued
        return failed

    async def _cancel_run(self, session: AsyncSession, run: ExecutionRow, now: datetime) -> None:
        """Cancel a running workflow run with every node that has not ended."""
        run.status, run.finished_at, run.error = ExecutionStatus.CANCELLED, now, "cancelled"
        dropped = set(
            await session.scalars(
                update(ExecutionRow)
                .where(
                    ExecutionRow.parent_id == run.id, ExecutionRow.status == ExecutionStatus.QUEUED
                )
                .values(status=ExecutionStatus.CANCELLED, finished_at=now, error=RUN_CANCELLED)
                .returning(ExecutionRow.id)
            )
        )
        for node in (await self._nodes(session, run.id)).values():
            if node.status == NodeStatus.PENDING or node.execution_id in dropped:
                node.status, node.finished_at, node.error = NodeStatus.CANCELLED, now, RUN_CANCELLED
        running = await session.scalars(
            update(ExecutionRow)
            .where(ExecutionRow.parent_id == run.id, ExecutionRow.status == ExecutionStatus.RUNNING)
            .values(cancel_requested_at=now)
            .returning(ExecutionRow.id)
        )
        for execution_id in running:
            await self._notify(session, CANCEL_CHANNEL, str(execution_id))

    async def _nodes(self, session: AsyncSession, run_id: int) -> dict[str, WorkflowNodeRow]:
        rows = await session.scalars(
            select(WorkflowNodeRow)
            .where(WorkflowNodeRow.run_id == run_id)
            .order_by(WorkflowNodeRow.id)
        )
        return {row.node: row for row in rows}

    async def _graph_of(self, session: AsyncSession, run: ExecutionRow) -> Graph:
        settings = await session.scalar(
            select(EventVersionRow.settings).where(
                EventVersionRow.event_id == run.event_id,
                EventVersionRow.version == run.event_version,
            )
        )
        if settings is None or settings.get("workflow") is None:
            event = await session.get(EventRow, run.event_id)
            return Graph.from_json((event.workflow if event else None) or {"nodes": []})
        return Graph.from_json(settings["workflow"])

    async def workflow_nodes(self, run_id: int) -> list[NodeRun]:
        """The nodes of a workflow run, in the order of the workflow."""
        async with self._read() as session:
            if await session.get(ExecutionRow, run_id) is None:
                raise NotFoundError(f"no execution has id {run_id}")
            return [
                NodeRun(
                    node=row.node, status=NodeStatus(row.status), execution_id=row.execution_id,
                    input=row.input, output=row.output, condition=row.condition, error=row.error,
                    started_at=row.started_at, finished_at=row.finished_at,
                )
                for row in (await self._nodes(session, run_id)).values()
            ]  # fmt: skip


def _state(row: WorkflowNodeRow) -> NodeState:
    return NodeState(NodeStatus(row.status), row.output, row.condition)
