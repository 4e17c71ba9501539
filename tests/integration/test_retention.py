"""Execution retention (cronium.retention over storage/retention.py), on both databases:
what is due by age and by count, what is never touched, bounded batches, the dry run, and
SQLite's pages given back."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from cronium.domain.execution import ExecutionStatus
from cronium.domain.workflow import NodeStatus
from cronium.retention import Batching, Pruner, RetentionPolicy
from cronium.server import chores_for
from cronium.service import Service
from cronium.settings import Settings
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from cronium.storage.tables import ExecutionRow, LogLineRow, WorkflowNodeRow
from tests.factories import NOW, stored_event

DAY = timedelta(days=1)
POLICY = RetentionPolicy(days=30, per_event=1000)


async def history(
    store: Store,
    event_id: int,
    count: int,
    *,
    ended: datetime,
    status: ExecutionStatus = ExecutionStatus.SUCCEEDED,
    lines: int = 3,
    parent_id: int | None = None,
    text_size: int = 10,
) -> list[int]:
    """``count`` executions of the event in ``status``, queued a minute before ``ended`` and
    ended then (unless still going), ``lines`` log lines each; their ids, oldest first."""
    going = not status.is_terminal
    ids = []
    async with store.db.write() as unit:
        for _ in range(count):
            row = ExecutionRow(
                event_id=event_id,
                status=status.value,
                queued_at=ended - timedelta(minutes=1),
                finished_at=None if going else ended,
                parent_id=parent_id,
            )
            unit.session.add(row)
            await unit.session.flush()
            ids.append(row.id)
        rows = [
            {
                "execution_id": ident,
                "seq": seq,
                "stream": "stdout",
                "at": ended,
                "line": "x" * text_size,
            }
            for ident in ids
            for seq in range(lines)
        ]
        if rows:
            await unit.session.execute(insert(LogLineRow), rows)
    return ids


async def node(
    store: Store, run_id: int, name: str, status: NodeStatus, execution_id: int | None
) -> None:
    async with store.db.write() as unit:
        unit.session.add(
            WorkflowNodeRow(
                run_id=run_id, node=name, status=status.value, execution_id=execution_id
            )
        )


async def existing(store: Store, ids: list[int]) -> list[int]:
    async with store.db.read() as session:
        query = select(ExecutionRow.id).where(ExecutionRow.id.in_(ids)).order_by(ExecutionRow.id)
        return list(await session.scalars(query))


async def count(
    store: Store, table: type[ExecutionRow] | type[LogLineRow] | type[WorkflowNodeRow]
) -> int:
    async with store.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_it_prunes_ended_executions_older_than_the_retention_with_their_log_lines(
    store: Store,
) -> None:
    event_id = await stored_event(store)
    old = await history(store, event_id, 4, ended=NOW - 31 * DAY)
    recent = await history(store, event_id, 2, ended=NOW - 29 * DAY)
    pruned = await Pruner(store, POLICY).run_once(NOW)
    assert (pruned.executions, pruned.log_lines, pruned.more) == (4, 12, False)
    assert await existing(store, old + recent) == recent
    assert await count(store, LogLineRow) == 6


async def test_it_keeps_the_newest_executions_of_each_event_and_prunes_the_rest(
    store: Store,
) -> None:
    crowded, quiet = await stored_event(store), await stored_event(store)
    many = await history(store, crowded, 7, ended=NOW - DAY)
    few = await history(store, quiet, 3, ended=NOW - DAY)
    pruned = await Pruner(store, RetentionPolicy(days=30, per_event=3)).run_once(NOW)
    assert pruned.executions == 4
    assert await existing(store, many + few) == many[-3:] + few


async def test_queued_and_running_executions_are_never_pruned_however_old(store: Store) -> None:
    event_id = await stored_event(store)
    going = await history(store, event_id, 2, ended=NOW - 400 * DAY, status=ExecutionStatus.QUEUED)
    going += await history(
        store, event_id, 2, ended=NOW - 400 * DAY, status=ExecutionStatus.RUNNING
    )
    ended = await history(store, event_id, 3, ended=NOW - 400 * DAY, status=ExecutionStatus.FAILED)
    pruned = await Pruner(store, RetentionPolicy(days=1, per_event=1)).run_once(NOW)
    assert pruned.executions == 3
    assert await existing(store, going + ended) == going


async def test_a_running_workflow_run_keeps_its_nodes_and_their_executions_until_it_ends(
    store: Store,
) -> None:
    workflow, step = await stored_event(store), await stored_event(store)
    long_ago = NOW - 100 * DAY
    [run] = await history(store, workflow, 1, ended=long_ago, status=ExecutionStatus.RUNNING)
    done = await history(store, step, 2, ended=long_ago, parent_id=run)
    await node(store, run, "a", NodeStatus.SUCCEEDED, done[1])  # done[0]: its first attempt
    await node(store, run, "b", NodeStatus.PENDING, None)
    # an ended run whose node is still going (its end is being applied) is kept as well
    [ending] = await history(store, workflow, 1, ended=long_ago)
    await node(store, ending, "a", NodeStatus.RUNNING, None)
    other = await history(store, step, 1, ended=long_ago)
    pruner = Pruner(store, POLICY)
    assert (await pruner.run_once(NOW)).executions == 1
    assert await existing(store, [run, ending, *done, *other]) == sorted([run, ending, *done])
    assert await count(store, WorkflowNodeRow) == 3

    async with store.db.write() as unit:
        await unit.session.execute(
            ExecutionRow.__table__.update()  # type: ignore[attr-defined]
            .where(ExecutionRow.id == run)
            .values(status=ExecutionStatus.SUCCEEDED.value, finished_at=long_ago)
        )
        await unit.session.execute(
            WorkflowNodeRow.__table__.update()  # type: ignore[attr-defined]
            .where(WorkflowNodeRow.status != NodeStatus.SUCCEEDED.value)
            .values(status=NodeStatus.SKIPPED.value)
        )
    assert (await pruner.run_once(NOW)).executions == 4
    assert await existing(store, [run, ending, *done]) == []
    assert await count(store, WorkflowNodeRow) == 0


async def test_a_prune_goes_in_bounded_batches_and_says_when_more_is_due(store: Store) -> None:
    event_id = await stored_event(store)
    ids = await history(store, event_id, 10, ended=NOW - 40 * DAY, lines=5)
    retention = store.retention
    deleted_lines: list[int] = []
    delete_lines = retention.delete_lines

    async def counted(execution_ids: list[int], limit: int) -> int:
        assert len(execution_ids) <= 3
        went = await delete_lines(execution_ids, limit)
        deleted_lines.append(went)
        return went

    retention.delete_lines = counted  # type: ignore[method-assign]
    pruner = Pruner(store, POLICY, Batching(executions=3, lines=4, per_call=2))
    first = await pruner.run_once(NOW)
    assert (first.executions, first.batches, first.more) == (6, 2, True)
    assert max(deleted_lines) <= 4
    assert await existing(store, ids) == ids[6:]
    rest = await pruner.run_all(NOW)
    assert (rest.executions, rest.log_lines, rest.more) == (4, 20, False)
    assert await existing(store, ids) == []


async def test_the_dry_run_writes_nothing_and_reports_what_the_prune_then_deletes(
    store: Store,
) -> None:
    first, second, third = [await stored_event(store) for _ in range(3)]
    await history(store, first, 5, ended=NOW - 40 * DAY)
    await history(store, first, 2, ended=NOW - DAY)
    await history(store, second, 6, ended=NOW - 2 * DAY)
    await history(store, third, 2, ended=NOW - DAY)
    await history(store, second, 1, ended=NOW - 50 * DAY, status=ExecutionStatus.RUNNING)
    pruner = Pruner(store, RetentionPolicy(days=30, per_event=4), Batching(executions=2))

    async def per_event() -> Counter[int]:
        async with store.db.read() as session:
            rows = await session.execute(select(ExecutionRow.event_id, ExecutionRow.id))
            return Counter(event_id for event_id, _ in rows)

    before = await per_event()
    lines_before = await count(store, LogLineRow)
    due = await pruner.due(NOW)
    assert await per_event() == before
    assert await count(store, LogLineRow) == lines_before
    assert [(item.event_id, item.executions) for item in due] == [(first, 5), (second, 2)]
    assert due[0].oldest == NOW - 40 * DAY
    assert due[0].newest == NOW - 40 * DAY
    assert due[1].oldest == due[1].newest == NOW - 2 * DAY

    pruned = await pruner.run_all(NOW)
    after = await per_event()
    assert {
        event: before[event] - after[event] for event in before if before[event] != after[event]
    } == {item.event_id: item.executions for item in due}
    assert pruned.executions == sum(item.executions for item in due)
    assert await pruner.due(NOW) == []


async def test_sqlite_gives_the_pages_of_pruned_executions_back_to_the_file_system(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cronium.db'}")
    try:
        await migrate(engine)
        store = Store(engine)
        event_id = await stored_event(store)
        await history(store, event_id, 40, ended=NOW - 40 * DAY, lines=50, text_size=1000)

        async def pages() -> tuple[int, int]:
            async with engine.connect() as connection:
                total = (await connection.execute(text("PRAGMA page_count"))).scalar()
                free = (await connection.execute(text("PRAGMA freelist_count"))).scalar()
            return int(total or 0), int(free or 0)

        full, _ = await pages()
        await Pruner(store, POLICY, Batching(executions=10, vacuum_pages=10_000)).run_all(NOW)
        emptied, free = await pages()
        assert emptied < full / 2
        assert free == 0
    finally:
        await engine.dispose()


@pytest.mark.parametrize("days", [30.0])
def test_the_cutoff_is_the_time_given_less_the_days(days: float) -> None:
    assert RetentionPolicy(days=days).cutoff(NOW) == NOW - timedelta(days=days)


async def test_the_scheduler_duties_prune_by_the_settings(store: Store) -> None:
    event_id = await stored_event(store)
    now = datetime.now(UTC)
    ids = await history(store, event_id, 5, ended=now - timedelta(hours=1))
    settings = Settings(retention_days=1, retention_per_event=2)
    for chore in chores_for(settings, Service(store)):
        await chore()
    assert await existing(store, ids) == ids[-2:]
