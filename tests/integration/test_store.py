"""The storage gateway, on SQLite and on PostgreSQL, each test on a fresh database."""

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cronium.domain.execution import ExecutionStatus
from cronium.domain.user import Role
from cronium.errors import ConflictError, InvalidTransitionError, LeaseLostError, NotFoundError
from cronium.storage import EventChanges, LogLine, Store
from cronium.storage.database import create_engine
from tests.factories import NOW, queued, run_record, script_event, stored_event

FIELDS = script_event(
    "echo hello", name="hello", env={"A": "1"}, timeout_seconds=10, cpus=1.0, memory_mb=256, pids=50
)


async def make_event(store: Store, name: str = "hello") -> int:
    """An event of FIELDS under ``name``, of an owner of its own."""
    return await stored_event(store, dataclasses.replace(FIELDS, name=name))


async def test_it_round_trips_an_event_with_its_limits_and_env(store: Store) -> None:
    user = await store.users.create("ann", role=Role.USER, now=NOW)
    created = await store.events.create(user.id, FIELDS, NOW)
    loaded = await store.events.get(created.id)
    assert loaded == created
    assert loaded.limits == FIELDS.limits
    assert loaded.env == {"A": "1"}
    assert loaded.created_at == NOW


async def test_it_refuses_a_second_event_with_the_same_name_and_keeps_the_first(
    store: Store,
) -> None:
    user = await store.users.create("ann", role=Role.USER, now=NOW)
    first = await store.events.create(user.id, FIELDS, NOW)
    with pytest.raises(ConflictError, match="'hello' already exists"):
        await store.events.create(user.id, FIELDS, NOW)
    assert await store.events.all(user.id) == [first]


async def test_it_updates_only_the_given_fields(store: Store) -> None:
    event_id = await make_event(store)
    later = NOW + timedelta(minutes=1)
    updated = await store.events.update(event_id, EventChanges(script="echo bye"), later)
    assert updated.script == "echo bye"
    assert updated.name == "hello"
    assert updated.limits == FIELDS.limits
    assert updated.updated_at == later


async def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no event has id 999"):
        await store.events.get(999)
    with pytest.raises(NotFoundError, match="no execution has id 999"):
        await store.executions.get(999)
    with pytest.raises(NotFoundError, match="no event has id 999"):
        await queued(store, 999)


async def test_it_claims_by_priority_then_age_and_only_once(store: Store) -> None:
    event_id = await make_event(store)
    old = await queued(store, event_id, input={"n": 1})
    new = await queued(store, event_id, now=NOW + timedelta(seconds=1))
    urgent = await queued(store, event_id, now=NOW + timedelta(seconds=2), priority=5)
    order = []
    while claimed := await store.queue.claim("w1", NOW):
        ((execution, event),) = claimed
        assert execution.status is ExecutionStatus.RUNNING
        assert execution.worker_id == "w1"
        assert event.id == event_id
        order.append(execution.id)
    assert order == [urgent.id, old.id, new.id]


async def test_concurrent_claims_never_hand_out_one_execution_twice(store: Store) -> None:
    event_id = await make_event(store)
    for _ in range(20):
        await queued(store, event_id)

    async def drain(worker: str) -> list[int]:
        taken = []
        while claimed := await store.queue.claim(worker, NOW):
            taken.append(claimed[0][0].id)
        return taken

    results = await asyncio.gather(*(drain(f"w{i}") for i in range(4)))
    everything = [i for taken in results for i in taken]
    assert len(everything) == 20
    assert len(set(everything)) == 20


async def test_it_records_a_run_and_refuses_to_record_it_twice(store: Store) -> None:
    event_id = await make_event(store)
    execution = await queued(store, event_id, input=[1, 2])
    await store.queue.claim("w1", NOW)
    record = run_record(
        ExecutionStatus.FAILED,
        finished_at=NOW + timedelta(seconds=2),
        exit_code=42,
        setup_seconds=0.01,
        run_seconds=1.5,
        cleanup_seconds=0.02,
    )
    done = await store.queue.record(execution.id, "w1", record)
    assert (done.status, done.exit_code, done.run_seconds) == (ExecutionStatus.FAILED, 42, 1.5)
    assert done.input == [1, 2]
    assert await store.executions.get(execution.id) == done
    # the worker no longer holds an ended run: the second record is refused as such
    with pytest.raises(LeaseLostError, match="is not running on worker 'w1' \\(it is failed\\)"):
        await store.queue.record(execution.id, "w1", run_record())


async def test_only_the_claiming_worker_may_record(store: Store) -> None:
    event_id = await make_event(store)
    execution = await queued(store, event_id)
    await store.queue.claim("w1", NOW)
    with pytest.raises(ConflictError, match="not running on worker 'w2'"):
        await store.queue.record(execution.id, "w2", run_record())


async def test_a_queued_execution_cannot_be_recorded_as_finished(store: Store) -> None:
    event_id = await make_event(store)
    execution = await queued(store, event_id)
    with pytest.raises(InvalidTransitionError, match="queued cannot become succeeded"):
        await store.queue.record(execution.id, "w1", run_record())
    assert (await store.executions.get(execution.id)).status is ExecutionStatus.QUEUED


async def test_it_keeps_log_lines_in_order_per_execution(store: Store) -> None:
    event_id = await make_event(store)
    execution = await queued(store, event_id)
    lines = [
        LogLine(seq=i, stream="stdout" if i % 2 else "stderr", at=NOW, line=f"l{i}")
        for i in range(5)
    ]
    await store.logs.append(execution.id, lines[:3])
    await store.logs.append(execution.id, lines[3:])
    assert await store.logs.read(execution.id) == lines
    assert await store.logs.read(execution.id, after_seq=2) == lines[3:]


async def test_executions_are_listed_newest_first_and_filtered(store: Store) -> None:
    first = await make_event(store, "first")
    second = await make_event(store, "second")
    a = await queued(store, first)
    b = await queued(store, second)
    c = await queued(store, first)
    listed = await store.executions.latest(event_id=None, visible_to=None, limit=10)
    assert [e.id for e in listed] == [c.id, b.id, a.id]
    only_first = await store.executions.latest(event_id=first, visible_to=None, limit=10)
    assert [e.id for e in only_first] == [c.id, a.id]
    assert len(await store.executions.latest(event_id=None, visible_to=None, limit=1)) == 1


async def test_deleting_an_event_removes_its_executions_and_logs(store: Store) -> None:
    event_id = await make_event(store)
    execution = await queued(store, event_id)
    await store.logs.append(execution.id, [LogLine(seq=0, stream="stdout", at=NOW, line="x")])
    await store.events.delete(event_id)
    with pytest.raises(NotFoundError):
        await store.executions.get(execution.id)
    assert await store.logs.read(execution.id) == []


async def test_an_event_with_a_running_execution_cannot_be_deleted(store: Store) -> None:
    event_id = await make_event(store)
    await queued(store, event_id)
    await store.queue.claim("w1", NOW)
    with pytest.raises(ConflictError, match="1 running execution"):
        await store.events.delete(event_id)
    assert (await store.events.get(event_id)).id == event_id


async def test_tokens_are_found_by_hash_and_revoked(store: Store) -> None:
    user = await store.users.create("ann", role=Role.ADMIN, now=NOW)
    token = await store.tokens.create(
        user.id, name="ci", token_hash="a" * 64, prefix="crn_abc", now=NOW, expires_at=None
    )
    found = await store.tokens.find("a" * 64)
    assert found == (token, user)
    assert await store.tokens.find("b" * 64) is None
    revoked = await store.tokens.revoke(user.id, token.id, NOW)
    assert revoked.revoked_at == NOW
    with pytest.raises(NotFoundError):
        await store.tokens.revoke(user.id + 1, token.id, NOW)


async def test_user_names_are_unique(store: Store) -> None:
    await store.users.create("ann", role=Role.USER, now=NOW)
    with pytest.raises(ConflictError, match="'ann' already exists"):
        await store.users.create("ann", role=Role.ADMIN, now=NOW)
    assert await store.users.count() == 1


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_batch_claim_takes_exactly_as_many_as_asked(store: Store) -> None:
    event_id = await make_event(store)
    for second in range(5):
        await queued(store, event_id, now=NOW + timedelta(seconds=second))
    first = await store.queue.claim("w1", NOW, limit=2)
    second = await store.queue.claim("w2", NOW, limit=2)
    rest = await store.queue.claim("w3", NOW, limit=10)
    assert [e.id for e, _ in first] == [1, 2]
    assert [e.id for e, _ in second] == [3, 4]
    assert [e.id for e, _ in rest] == [5]
    assert await store.queue.claim("w4", NOW, limit=10) == []
