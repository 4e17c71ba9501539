"""The worker's steps with the in-package fake sandbox, on both databases."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from cronium.domain.action import Action, ActionWhen
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Language
from cronium.domain.execution import MAX_START_FAILURES, Execution, ExecutionStatus
from cronium.errors import LeaseLostError, SandboxError, SandboxStartError
from cronium.sandbox.fake import FakeBackend, FakeRun
from cronium.sandbox.spec import SandboxSpec
from cronium.service import Service
from cronium.settings import WorkerSettings
from cronium.storage import RunRecord, Store
from cronium.worker import SHUTDOWN_REASON, Worker
from tests.factories import python_event, script_event, unique_name


async def queue_run(service: Service, script: str = "hello", input: object = None) -> int:
    user, _ = await service.accounts.create_admin(unique_name("u"))
    event = await service.create_event(
        user,
        python_event(script, name=script, env={"GREETING": "hi"}, timeout_seconds=7, memory_mb=64),
    )
    return (await service.run_event(user, event.id, input)).id


async def wait_until_statuses(
    store: Store, ids: list[int], wanted: set[ExecutionStatus], attempts: int = 500
) -> None:
    """Poll (bounded: 500 x 20 ms) until every execution in ``ids`` has a status in ``wanted``."""
    for _ in range(attempts):
        if {(await store.executions.get(i)).status for i in ids} <= wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"executions {ids} never reached {wanted}")


async def test_run_once_returns_false_when_nothing_is_queued(store: Store) -> None:
    assert await Worker(store, FakeBackend()).run_once() is False


async def test_it_runs_a_claimed_execution_and_records_result_and_logs(
    store: Store, service: Service
) -> None:
    execution_id = await queue_run(service, "line one\nline two", input={"n": 1})
    backend = FakeBackend(lambda spec: FakeRun(exit_code=0, stdout=("out",), stderr=("err",)))
    worker = Worker(store, backend, worker_id="w-test")
    assert await worker.run_once() is True
    execution = await store.executions.get(execution_id)
    assert execution.status is ExecutionStatus.SUCCEEDED
    assert execution.exit_code == 0
    assert execution.worker_id == "w-test"
    assert execution.started_at is not None
    assert execution.finished_at is not None
    logs = await store.logs.read(execution_id)
    assert [(line.stream, line.line) for line in logs] == [("stdout", "out"), ("stderr", "err")]
    spec = backend.specs[0]
    assert (spec.language, spec.env["GREETING"], spec.limits.memory_mb) == (
        Language.PYTHON,
        "hi",
        64,
    )
    assert spec.env["CRONIUM_EVENT_ID"].isdigit()
    assert spec.execution_id == execution_id


async def test_a_non_zero_exit_is_a_failed_result(store: Store, service: Service) -> None:
    execution_id = await queue_run(service)
    await Worker(store, FakeBackend(lambda spec: FakeRun(exit_code=42))).run_once()
    execution = await store.executions.get(execution_id)
    assert (execution.status, execution.exit_code) == (ExecutionStatus.FAILED, 42)


async def test_a_sandbox_failure_fails_the_execution_with_its_reason(
    store: Store, service: Service
) -> None:
    def broken(spec: SandboxSpec) -> FakeRun:
        raise SandboxError("runc is missing")

    execution_id = await queue_run(service)
    await Worker(store, FakeBackend(broken)).run_once()
    execution = await store.executions.get(execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == "runc is missing"


class Later:
    """A clock the test moves on (the worker's ``clock``)."""

    def __init__(self) -> None:
        from cronium.service import utcnow

        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def failing_to_start(times: int) -> Callable[[SandboxSpec], FakeRun]:
    """A backend behaviour whose sandbox cannot be set up the first ``times`` runs."""
    left = {"times": times}

    def behaviour(spec: SandboxSpec) -> FakeRun:
        if left["times"]:
            left["times"] -= 1
            raise SandboxStartError("docker could not start the container: no space left")
        return FakeRun(stdout=("ran",))

    return behaviour


async def test_a_run_whose_sandbox_could_not_be_set_up_is_queued_again(
    store: Store, service: Service
) -> None:
    execution_id = await queue_run(service)
    clock = Later()
    worker = Worker(store, FakeBackend(failing_to_start(1)), worker_id="w-start", clock=clock)
    assert await worker.run_once() is True
    released = await store.executions.get(execution_id)
    assert released.status is ExecutionStatus.QUEUED
    assert (released.start_failures, released.attempt, released.worker_id) == (1, 1, None)
    assert released.started_at is None
    assert released.due_at == clock.now + timedelta(seconds=1)
    assert "not started on worker w-start: docker could not start" in (released.error or "")
    assert await worker.run_once() is False  # not before it is due
    clock.now += timedelta(seconds=1)
    assert await worker.run_once() is True
    ran = await store.executions.get(execution_id)
    assert (ran.status, ran.error, ran.attempt) == (ExecutionStatus.SUCCEEDED, None, 1)
    assert [line.line for line in await store.logs.read(execution_id)] == ["ran"]


async def test_a_run_whose_sandbox_never_starts_fails_after_a_few_tries(
    store: Store, service: Service
) -> None:
    execution_id = await queue_run(service)
    clock = Later()
    worker = Worker(store, FakeBackend(failing_to_start(99)), clock=clock)
    for _ in range(MAX_START_FAILURES):
        assert await worker.run_once() is True
        clock.now += timedelta(minutes=1)
    failed = await store.executions.get(execution_id)
    assert failed.status is ExecutionStatus.FAILED
    assert failed.start_failures == MAX_START_FAILURES - 1
    assert failed.error == (
        f"the sandbox could not be set up {MAX_START_FAILURES} times; last time:"
        " docker could not start the container: no space left"
    )
    assert await worker.run_once() is False


async def test_only_the_worker_that_holds_a_run_can_give_it_back(
    store: Store, service: Service
) -> None:
    execution_id = await queue_run(service)
    clock = Later()
    assert await store.queue.claim("w-holder", clock.now)
    with pytest.raises(LeaseLostError):
        await store.queue.release(execution_id, "w-other", clock.now, "no")
    assert (await store.executions.get(execution_id)).status is ExecutionStatus.RUNNING


async def test_a_bug_in_the_worker_fails_the_execution_but_not_the_worker(
    store: Store, service: Service
) -> None:
    def buggy(spec: SandboxSpec) -> FakeRun:
        raise ZeroDivisionError("oops")

    first = await queue_run(service, "a")
    second = await queue_run(service, "b")
    worker = Worker(store, FakeBackend(buggy))
    assert await worker.run_once()
    assert await worker.run_once()
    for execution_id in (first, second):
        execution = await store.executions.get(execution_id)
        assert execution.status is ExecutionStatus.FAILED
        assert "internal error of the worker" in (execution.error or "")


async def test_the_loop_wakes_on_enqueue_and_runs_several_at_once(
    store: Store, service: Service
) -> None:
    backend = FakeBackend(lambda spec: FakeRun(duration=0.3))
    worker = Worker(store, backend, WorkerSettings(concurrency=3, poll_interval=30))
    service.notify_on_enqueue(worker.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.05)
    ids = [await queue_run(service, f"s{i}") for i in range(3)]
    await wait_until_statuses(store, ids, {ExecutionStatus.SUCCEEDED})
    stop.set()
    await loop
    executions = [await store.executions.get(i) for i in ids]
    starts = sorted(e.started_at for e in executions if e.started_at)
    finishes = sorted(e.finished_at for e in executions if e.finished_at)
    # all three were running together: each started before any finished
    assert starts[-1] < finishes[0]


async def stopped_while_running(
    store: Store, service: Service, *, duration: float, grace: float
) -> Execution:
    """An execution of ``duration`` seconds, its worker stopped while it runs; how it ended."""
    backend = FakeBackend(lambda spec: FakeRun(duration=duration))
    worker = Worker(store, backend, WorkerSettings(poll_interval=0.05, shutdown_grace=grace))
    execution_id = await queue_run(service)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    await wait_until_statuses(store, [execution_id], {ExecutionStatus.RUNNING})
    stop.set()
    await loop
    return await store.executions.get(execution_id)


async def test_stopping_lets_what_runs_finish_within_the_grace_period(
    store: Store, service: Service
) -> None:
    execution = await stopped_while_running(store, service, duration=0.5, grace=10)
    assert execution.status is ExecutionStatus.SUCCEEDED
    (info,) = await store.workers.all()
    assert info.stopped_at is not None


async def test_stop_now_cancels_at_once(store: Store, service: Service) -> None:
    settings = WorkerSettings(poll_interval=0.05, shutdown_grace=60)
    worker = Worker(store, FakeBackend(lambda spec: FakeRun(duration=60)), settings)
    execution_id = await queue_run(service)
    stop, stop_now = asyncio.Event(), asyncio.Event()
    loop = asyncio.create_task(worker.run(stop, stop_now))
    await wait_until_statuses(store, [execution_id], {ExecutionStatus.RUNNING})
    stop.set()
    await asyncio.sleep(0.2)
    stop_now.set()
    async with asyncio.timeout(5):
        await loop
    execution = await store.executions.get(execution_id)
    assert execution.status is ExecutionStatus.CANCELLED
    assert execution.error == SHUTDOWN_REASON


async def test_stopping_cancels_what_outlives_the_grace_period_and_records_why(
    store: Store, service: Service
) -> None:
    execution = await stopped_while_running(store, service, duration=60, grace=0.2)
    assert execution.status is ExecutionStatus.CANCELLED
    assert execution.error == SHUTDOWN_REASON


async def test_an_egress_event_fails_on_a_worker_that_does_not_allow_it(
    store: Store, service: Service
) -> None:
    user, _ = await service.accounts.create_admin("net")
    service.allow_egress = True
    event = await service.create_event(
        user,
        script_event(name="net", network="egress"),
    )
    execution = await service.run_event(user, event.id)
    backend = FakeBackend()
    await Worker(store, backend, WorkerSettings(egress=EgressPolicy(allow_egress=False))).run_once()
    done = await store.executions.get(execution.id)
    assert done.status is ExecutionStatus.FAILED
    assert "CRONIUM_ALLOW_EGRESS" in (done.error or "")
    assert backend.specs == []


async def test_a_running_execution_is_cancelled_on_request(store: Store, service: Service) -> None:
    worker = Worker(
        store, FakeBackend(lambda spec: FakeRun(duration=60)), WorkerSettings(poll_interval=0.05)
    )
    execution_id = await queue_run(service)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    await wait_until_statuses(store, [execution_id], {ExecutionStatus.RUNNING})
    await store.queue.cancel(execution_id, service.clock())
    await wait_until_statuses(store, [execution_id], {ExecutionStatus.CANCELLED})
    stop.set()
    await loop
    assert (await store.executions.get(execution_id)).error == "cancelled by a user"


async def test_an_execution_whose_worker_was_lost_is_failed_and_retried(
    store: Store, service: Service
) -> None:
    user, _ = await service.accounts.create_admin("retry")
    event = await service.create_event(
        user,
        script_event(name="retry", max_attempts=2),
    )
    first = await service.run_event(user, event.id, {"k": 1})
    now = service.clock()
    assert await store.queue.claim("gone:1", now, lease=timedelta(seconds=1)) != []
    assert await store.queue.requeue_expired(now) == []  # the lease still runs
    later = now + timedelta(seconds=2)
    (requeued,) = await store.queue.requeue_expired(later)
    assert requeued.lost.id == first.id
    assert requeued.lost.status is ExecutionStatus.FAILED
    assert requeued.lost.error == "worker lost: gone:1 stopped renewing its lease"
    assert requeued.retry is not None
    assert (requeued.retry.attempt, requeued.retry.retry_of, requeued.retry.input) == (
        2,
        first.id,
        {"k": 1},
    )
    assert await store.queue.requeue_expired(later) == []  # exactly once
    # the second attempt is lost too: no third
    assert await store.queue.claim("gone:2", later, lease=timedelta(seconds=1)) != []
    (again,) = await store.queue.requeue_expired(later + timedelta(seconds=2))
    assert again.retry is None


async def test_workers_take_only_executions_of_their_pools(store: Store, service: Service) -> None:
    user, _ = await service.accounts.create_admin("pools")
    pooled = await service.create_event(
        user,
        script_event(name="pooled", pool="docker"),
    )
    execution = await service.run_event(user, pooled.id)
    assert await store.queue.claim("plain:1", service.clock()) == []
    (claimed,) = await store.queue.claim("docker:1", service.clock(), pools={"docker"})
    assert claimed[0].id == execution.id


async def test_a_failed_run_is_retried_after_its_backoff_and_a_cancelled_one_never(
    store: Store, service: Service
) -> None:
    user, _ = await service.accounts.create_admin("backoff")
    event = await service.create_event(
        user,
        script_event("exit 1", name="flaky", max_attempts=3, retry_backoff_seconds=60),
    )
    first = await service.run_event(user, event.id, {"n": 1})
    worker = Worker(store, FakeBackend(lambda spec: FakeRun(exit_code=1)), worker_id="w")
    assert await worker.run_once()
    (retry, failed) = await store.executions.latest(event_id=event.id, visible_to=None, limit=10)
    assert failed.id == first.id
    assert failed.status is ExecutionStatus.FAILED
    assert (retry.status, retry.attempt, retry.retry_of, retry.input) == (
        ExecutionStatus.QUEUED,
        2,
        first.id,
        {"n": 1},
    )
    assert retry.due_at is not None
    assert failed.finished_at is not None
    wait = (retry.due_at - failed.finished_at).total_seconds()
    assert 30 <= wait <= 60
    assert await worker.run_once() is False  # not due yet
    due = retry.due_at
    assert await store.queue.claim("w", due, limit=1)  # due now
    await store.queue.record(
        retry.id, "w", RunRecord(status=ExecutionStatus.CANCELLED, finished_at=due)
    )
    executions = await store.executions.latest(event_id=event.id, visible_to=None, limit=10)
    assert len(executions) == 2  # a cancelled attempt is not retried


async def test_conditional_actions_run_the_next_event_with_the_output(
    store: Store, service: Service
) -> None:
    user, _ = await service.accounts.create_admin("chain")

    async def event(name: str, **extra: object) -> int:
        fields = script_event(name=name, **extra)
        return (await service.create_event(user, fields)).id

    on_success = await event("on-success")
    on_failure = await event("on-failure")
    on_condition = await event("on-condition")
    first = await event(
        "first",
        actions=(
            Action(ActionWhen.SUCCESS, on_success),
            Action(ActionWhen.FAILURE, on_failure),
            Action(ActionWhen.CONDITION, on_condition),
        ),
    )
    execution = await service.run_event(user, first)
    assert await store.queue.claim("w", service.clock())
    ended = RunRecord(
        status=ExecutionStatus.SUCCEEDED,
        finished_at=service.clock(),
        output={"total": 3},
        condition=True,
    )
    await store.queue.record(execution.id, "w", ended)
    queued = {
        e.event_id: e
        for target in (on_success, on_failure, on_condition)
        for e in await store.executions.latest(event_id=target, visible_to=None, limit=5)
    }
    assert set(queued) == {on_success, on_condition}
    assert queued[on_success].input == {"total": 3}
    assert queued[on_success].trigger == "action"


async def test_a_worker_that_lost_its_lease_stops_the_run_and_drops_its_late_writes(
    store: Store, service: Service
) -> None:
    """A frozen worker whose run was failed as lost: once it notices (its heartbeat renews
    fewer runs than it holds), the sandbox is stopped, the late lines and result are dropped
    with a warning, and nothing is raised."""
    from cronium.errors import LeaseLostError
    from cronium.storage import LogLine

    execution_id = await queue_run(service, "slow")
    backend = FakeBackend(lambda spec: FakeRun(stdout=("early",), duration=20))
    settings = WorkerSettings(lease=timedelta(seconds=30))
    worker = Worker(store, backend, settings, worker_id="w-frozen")
    ((claimed, event),) = await worker.claim()
    running = asyncio.create_task(worker.execute(claimed, event))
    await wait_until_logged(store, execution_id)
    # the lease ran out meanwhile: someone else fails the execution as lost
    (requeued,) = await store.queue.requeue_expired(worker.clock() + timedelta(minutes=5))
    assert requeued.lost.id == execution_id
    await worker.heartbeat()
    ended = await asyncio.wait_for(running, timeout=5)  # stopped at once, not after 20 s
    assert ended.id == execution_id
    lost = await store.executions.get(execution_id)
    assert lost.status is ExecutionStatus.FAILED
    assert lost.error is not None
    assert "worker lost" in lost.error
    assert [line.line for line in await store.logs.read(execution_id)] == ["early"]
    late = [LogLine(seq=5, stream="stdout", at=worker.clock(), line="late")]
    with pytest.raises(LeaseLostError):
        await store.logs.append(execution_id, late, "w-frozen")
    # the runtime API's writes for the run are refused the same way (its token: 401)
    held_by = (execution_id, "w-frozen")
    with pytest.raises(LeaseLostError):
        await store.variables.put(event.owner_id, "k", 1, worker.clock(), held_by=held_by)
    assert await store.variables.all(event.owner_id) == {}


async def wait_until_logged(store: Store, execution_id: int) -> None:
    for _ in range(250):  # bounded: 250 x 20 ms
        if await store.logs.read(execution_id):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"execution {execution_id} logged nothing")


async def test_a_result_is_stored_once_the_database_is_back(store: Store, service: Service) -> None:
    """The database refuses writes when the run ends: the worker keeps the lines and the
    result and stores them once it answers again."""
    from cronium.errors import StorageError

    execution_id = await queue_run(service, "one\ntwo\nthree")
    worker = Worker(store, FakeBackend(), worker_id="w-outage")
    real = store.queue.record_and_continue
    refusals = {"left": 3}

    async def refusing(*args: object, **kwargs: object) -> object:
        if refusals["left"]:
            refusals["left"] -= 1
            raise StorageError("the database failed: disk I/O error")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    store.queue.record_and_continue = refusing  # type: ignore[method-assign]
    assert await worker.run_once() is True
    assert refusals["left"] == 0
    execution = await store.executions.get(execution_id)
    assert execution.status is ExecutionStatus.SUCCEEDED
    assert [line.line for line in await store.logs.read(execution_id)] == ["one", "two", "three"]


async def test_a_stopping_worker_gives_up_storing_a_result_while_the_database_is_away(
    store: Store, service: Service
) -> None:
    """It does not hang: after the grace and ``record_give_up`` it exits, and the run is left
    to its lease (failed as lost once it runs out, like any lost run)."""
    from cronium.errors import StorageError

    execution_id = await queue_run(service)
    worker = Worker(
        store,
        FakeBackend(lambda spec: FakeRun(duration=0.3)),
        WorkerSettings(shutdown_grace=1, record_give_up=0.5),
        worker_id="w-away",
    )

    async def refusing(*args: object, **kwargs: object) -> object:
        raise StorageError("the database could not be reached: connection refused")

    store.queue.record_and_continue = refusing  # type: ignore[method-assign]
    stop = asyncio.Event()
    working = asyncio.create_task(worker.run(stop))
    await wait_until_statuses(store, [execution_id], {ExecutionStatus.RUNNING})
    stop.set()
    await asyncio.wait_for(working, timeout=10)
    left = await store.executions.get(execution_id)
    assert (left.status, left.worker_id) == (ExecutionStatus.RUNNING, "w-away")


async def test_a_bug_while_ending_a_run_fails_it_with_the_reason(
    store: Store, service: Service
) -> None:
    """Storing the end raises something no one planned for (here a RecursionError, as a
    very deep output once did): the run ends failed with the reason, not `running` forever."""
    execution_id = await queue_run(service)
    worker = Worker(store, FakeBackend(), worker_id="w-bug")
    real = store.queue.record_and_continue
    calls = {"n": 0}

    async def buggy(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RecursionError("maximum recursion depth exceeded")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    store.queue.record_and_continue = buggy  # type: ignore[method-assign]
    assert await worker.run_once() is True
    ended = await store.executions.get(execution_id)
    assert ended.status is ExecutionStatus.FAILED
    assert ended.error == (
        "internal error of the worker: RecursionError('maximum recursion depth exceeded')"
    )


async def test_the_heartbeat_renews_only_the_leases_the_worker_holds(
    store: Store, service: Service
) -> None:
    execution_id = await queue_run(service)
    settings = WorkerSettings(lease=timedelta(seconds=30))
    worker = Worker(store, FakeBackend(), settings, worker_id="w-forgot")
    claimed = await worker.claim()  # claimed, then the task that held it died
    assert [execution.id for execution, _ in claimed] == [execution_id]
    before = (await store.executions.get(execution_id)).lease_expires_at
    await asyncio.sleep(0.01)
    await worker.heartbeat()
    assert (await store.executions.get(execution_id)).lease_expires_at == before
