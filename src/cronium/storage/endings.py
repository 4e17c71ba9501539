"""Applying what follows the end of an execution, in the transaction that ended it.

:func:`finish` reads what the planner (``domain/ending.py``) needs, asks it for the plan and
applies it: the next attempt, the actions' executions, the run's step. If the step ended the
run, the run's own end is planned and applied the same way, up through nested runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update

from cronium.domain.action import Action
from cronium.domain.ending import Ending, EndPlan, Retry, Rules, plan_end
from cronium.domain.event import EventKind, EventStatus
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.logs import fields
from cronium.metrics import NO_BACKEND, count_ended
from cronium.storage.deliveries import Deliveries
from cronium.storage.rows import execution_of, new_execution
from cronium.storage.runs import apply_step, end_run, learn, locked_run, state_of
from cronium.storage.tables import EventRow, ExecutionRow, WorkflowNodeRow
from cronium.storage.transactions import DELIVERY_CHANNEL, QUEUE_CHANNEL, Unit

log = logging.getLogger("cronium.storage.queue")  # the queue's state-change lines


@dataclass(slots=True)
class Finished:
    """What :func:`finish` queued: the ended execution's next attempt, and the executions of
    workflow nodes that start; and, for the process log and the metrics, every execution it
    queued (retries, actions, nodes) and the workflow runs it ended."""

    retry: ExecutionRow | None = None
    nodes: list[ExecutionRow] = field(default_factory=list)
    queued: list[ExecutionRow] = field(default_factory=list)
    runs_ended: list[ExecutionRow] = field(default_factory=list)


def rules_of(event: EventRow | None) -> Rules:
    """What an event says about what follows its runs (nothing, once it is deleted)."""
    if event is None:
        return Rules()
    return Rules(
        max_attempts=event.max_attempts,
        retry_backoff=event.retry_backoff_seconds,
        retry_backoff_max=event.retry_backoff_max_seconds,
        actions=tuple(Action.from_json(action) for action in event.actions or ()),
    )


def ending_of(row: ExecutionRow, *, lost: bool = False) -> Ending:
    return Ending(
        status=ExecutionStatus(row.status),
        attempt=row.attempt,
        output=row.output,
        condition=row.condition,
        error=row.error,
        lost=lost,
    )


async def finish(
    unit: Unit, ended: ExecutionRow, now: datetime, *, jitter: float = 0.5, lost: bool = False
) -> Finished:
    """Everything that follows the end of ``ended`` (``lost``: its worker was lost)."""
    finished = Finished()
    current: ExecutionRow | None = ended
    while current is not None:
        rules = rules_of(await unit.event(current.event_id))
        run = await locked_run(unit, current)
        targets = None
        if rules.actions and not lost:
            targets = await _targets(unit, rules.actions)
        ending = ending_of(current, lost=lost)
        state = None if run is None else await state_of(unit, run, current.node)
        plan = plan_end(
            ending, rules, now, jitter=jitter, node=current.node, run=state, targets=targets
        )
        while state is not None and plan.step is not None and plan.step.needs:
            state = await learn(unit, state, plan.step.needs)  # bounded: new events each round
            plan = plan_end(
                ending, rules, now, jitter=jitter, node=current.node, run=state, targets=targets
            )
        retry, actions = await _apply(unit, current, plan, now)
        if current is ended:
            finished.retry = retry
        finished.queued += [*([retry] if retry is not None else []), *actions]
        following = None
        if run is not None and plan.step is not None:
            nodes = await apply_step(unit, run, plan.step, now, ended=current.node)
            finished.nodes += nodes
            finished.queued += nodes
            if plan.step.outcome is not None:
                following = await end_run(unit, run, plan.step.outcome, now)
                if following is not None:
                    finished.runs_ended.append(following)
        current, lost = following, False
    return finished


async def _apply(
    unit: Unit, ended: ExecutionRow, plan: EndPlan, now: datetime
) -> tuple[ExecutionRow | None, list[ExecutionRow]]:
    """Queue the plan's retry and actions; the retry and the actions' executions."""
    retry, actions = None, []
    if plan.retry is not None:
        retry = await _queue_retry(unit, ended, plan.retry, now)
        if ended.parent_id is not None:  # the node goes on with its next attempt
            await unit.session.execute(
                update(WorkflowNodeRow)
                .where(
                    WorkflowNodeRow.run_id == ended.parent_id, WorkflowNodeRow.node == ended.node
                )
                .values(execution_id=retry.id)
            )
    for event_id, pool in plan.actions:
        queued = new_execution(event_id, input=ended.output, now=now)
        queued.trigger, queued.pool = "action", pool
        unit.session.add(queued)
        actions.append(queued)
    if plan.actions:
        await unit.session.flush()
        await unit.notify(QUEUE_CHANNEL)
    if plan.notifications:
        event = await unit.event(ended.event_id)
        if event is not None:
            for call in plan.notifications:
                Deliveries.add_pending(unit, event.owner_id, ended.id, call, now)
            await unit.notify(DELIVERY_CHANNEL)
    return retry, actions


async def _queue_retry(
    unit: Unit, ended: ExecutionRow, retry: Retry, now: datetime
) -> ExecutionRow:
    row = new_execution(
        ended.event_id,
        input=ended.input,
        now=now,
        priority=ended.priority,
        attempt=retry.attempt,
    )
    row.pool, row.retry_of, row.trigger = ended.pool, ended.retry_of or ended.id, ended.trigger
    row.scheduled_at, row.due_at = ended.scheduled_at, retry.due_at
    row.parent_id, row.node = ended.parent_id, ended.node
    unit.session.add(row)
    await unit.session.flush()
    await unit.notify(QUEUE_CHANNEL)
    return row


async def _targets(unit: Unit, actions: tuple[Action, ...]) -> dict[int, str | None]:
    """The actions' events that can still be queued (not deleted or archived), with their pool."""
    rows = await unit.events(action.event_id for action in actions if action.event_id is not None)
    return {
        event_id: row.pool for event_id, row in rows.items() if row.status != EventStatus.ARCHIVED
    }


def say_status(execution: Execution, what: str, level: int = logging.INFO, **more: Any) -> None:
    """The process log's line of a change of ``execution``'s status made outside a worker:
    "execution ID WHAT: event ID, attempt N", with the ids and the status as fields too (never
    its script, input, output or error)."""
    message = (
        f"execution {execution.id} {what}: event {execution.event_id}, attempt {execution.attempt}"
    )
    values = {
        "execution_id": execution.id,
        "event_id": execution.event_id,
        "status": str(execution.status),
        "attempt": execution.attempt,
    }
    log.log(level, "%s", message, extra=fields(**values, **more))


def say_finished(finished: Finished, but: ExecutionRow | None = None) -> None:
    """The log lines and counts of what an end led to: each execution it queued (a retry, an
    action, a workflow node; ``but`` one said otherwise) and each workflow run it ended."""
    for row in finished.queued:
        if row is not but:
            execution = execution_of(row)
            say_status(execution, "queued", trigger=execution.trigger)
    for row in finished.runs_ended:
        run = execution_of(row)
        count_ended(run, language=str(EventKind.WORKFLOW), backend=NO_BACKEND)
        say_status(run, f"ended {run.status}")
