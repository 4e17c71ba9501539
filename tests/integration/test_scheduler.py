"""The scheduler on both databases, on a clock the tests move: no test waits for time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cronium.domain.event import EventStatus
from cronium.domain.execution import ExecutionStatus
from cronium.domain.schedule import Concurrency, MissedRuns, Schedule, ScheduleKind, SchedulePolicy
from cronium.scheduler import Scheduler
from cronium.service import Service
from cronium.storage import EventChanges, Store
from cronium.storage.database import create_engine
from tests.clock import FakeClock
from tests.factories import script_event, unique_name
from tests.polling import until

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVERY_MINUTE = Schedule.of_cron("* * * * *")
EVERY_SECOND = Schedule.of_cron("* * * * * *")
EVERY_TEN_SECONDS = Schedule.of_cron("*/10 * * * * *")


@pytest.fixture
def clock(service: Service) -> FakeClock:
    """The time of the service (events are made at T0) and of the schedulers of the test."""
    clock = FakeClock(T0)
    service.clock = clock
    return clock


async def scheduled(service: Service, schedule: Schedule = EVERY_MINUTE, **policy: object) -> int:
    """An event on ``schedule`` made now (by the service's clock) by a user of its own."""
    user, _ = await service.accounts.create_admin(unique_name("user"))
    fields = script_event(schedule=schedule, policy=SchedulePolicy(**policy))  # type: ignore[arg-type]
    return (await service.create_event(user, fields)).id


async def test_a_fire_is_queued_when_due_and_only_then(
    store: Store, service: Service, clock: FakeClock
) -> None:
    event_id = await scheduled(service)
    scheduler = Scheduler(store, clock=clock)
    clock.set(T0 + timedelta(seconds=59))
    assert await scheduler.run_once() == []
    clock.set(T0 + timedelta(seconds=60, milliseconds=5))
    (made,) = await scheduler.run_once()
    assert (made.event_id, made.trigger, made.status) == (event_id, "schedule", "queued")
    assert made.scheduled_at == T0 + timedelta(minutes=1)
    clock.set(T0 + timedelta(seconds=61))
    assert await scheduler.run_once() == []


@pytest.mark.parametrize(
    ("policy", "expected_minutes"),
    [
        (MissedRuns.SKIP, []),
        (MissedRuns.RUN_ONCE, [10]),
        (MissedRuns.RUN_ALL, [6, 7, 8, 9, 10]),
    ],
)
async def test_missed_runs_after_a_downtime_follow_the_policy(
    store: Store,
    service: Service,
    clock: FakeClock,
    policy: MissedRuns,
    expected_minutes: list[int],
) -> None:
    await scheduled(service, missed_runs=policy, catch_up=timedelta(minutes=5))
    clock.advance(minutes=10, seconds=30)  # the scheduler was down meanwhile
    made = await Scheduler(store, clock=clock).run_once()
    assert [int((e.scheduled_at - T0).total_seconds() // 60) for e in made] == expected_minutes


async def test_forbid_records_a_fire_as_skipped_while_a_run_goes_on(
    store: Store, service: Service, clock: FakeClock
) -> None:
    await scheduled(service, concurrency=Concurrency.FORBID)
    scheduler = Scheduler(store, clock=clock)
    clock.advance(minutes=1)
    (first,) = await scheduler.run_once()
    clock.advance(minutes=1)
    (second,) = await scheduler.run_once()
    assert first.status is ExecutionStatus.QUEUED
    assert second.status is ExecutionStatus.SKIPPED
    assert second.error == "skipped: an earlier run had not ended (concurrency: forbid)"


async def test_replace_cancels_the_earlier_run(
    store: Store, service: Service, clock: FakeClock
) -> None:
    await scheduled(service, concurrency=Concurrency.REPLACE)
    scheduler = Scheduler(store, clock=clock)
    clock.advance(minutes=1)
    (first,) = await scheduler.run_once()
    clock.advance(minutes=1)
    (second,) = await scheduler.run_once()
    assert (await store.executions.get(first.id)).status is ExecutionStatus.CANCELLED
    assert second.status is ExecutionStatus.QUEUED


async def test_allow_runs_up_to_its_maximum(
    store: Store, service: Service, clock: FakeClock
) -> None:
    await scheduled(service, concurrency=Concurrency.ALLOW, max_concurrent=2)
    scheduler = Scheduler(store, clock=clock)
    statuses = []
    for _ in range(3):
        clock.advance(minutes=1)
        statuses += [execution.status for execution in await scheduler.run_once()]
    assert statuses == [ExecutionStatus.QUEUED, ExecutionStatus.QUEUED, ExecutionStatus.SKIPPED]


async def test_max_executions_pauses_the_event_and_reactivation_resets_the_count(
    store: Store, service: Service, clock: FakeClock
) -> None:
    event_id = await scheduled(service, max_executions=2)
    scheduler = Scheduler(store, clock=clock)
    for _ in range(3):
        clock.advance(minutes=1)
        await scheduler.run_once()
    event = await store.events.get(event_id)
    assert (event.status, event.fire_count) == (EventStatus.PAUSED, 2)
    executions = await store.executions.latest(event_id=event_id, visible_to=None, limit=10)
    assert len(executions) == 2


async def test_two_schedulers_at_once_fire_each_time_exactly_once(
    database_url: str, service: Service, clock: FakeClock
) -> None:
    event_id = await scheduled(service, EVERY_TEN_SECONDS)
    engines = [create_engine(database_url) for _ in range(2)]
    schedulers = [Scheduler(Store(engine), clock=clock) for engine in engines]
    try:
        for _ in range(12):
            clock.advance(seconds=10)
            await asyncio.gather(*(s.run_once() for s in schedulers))
    finally:
        for engine in engines:
            await engine.dispose()
    executions = await service.store.executions.latest(
        event_id=event_id, visible_to=None, limit=100
    )
    fires = sorted(e.scheduled_at for e in executions if e.scheduled_at)
    assert fires == [
        T0 + timedelta(seconds=s) for s in range(10, 130, 10)
    ]  # none twice, none missed


async def test_daylight_saving_through_the_scheduler(
    store: Store, service: Service, clock: FakeClock
) -> None:
    day = clock.set(T0.replace(month=3, day=28, hour=0))
    await scheduled(service, Schedule.of_cron("30 2 * * *", "Europe/Paris"))
    scheduler = Scheduler(store, clock=clock)
    made = []
    for hour in range(0, 72):
        clock.set(day + timedelta(hours=hour, minutes=30, seconds=1))
        made += await scheduler.run_once()
    assert [e.scheduled_at.isoformat() for e in made if e.scheduled_at] == [
        "2026-03-28T01:30:00+00:00",  # 02:30 CET
        "2026-03-29T01:00:00+00:00",  # 02:30 does not exist: 03:00 CEST
        "2026-03-30T00:30:00+00:00",  # 02:30 CEST
    ]


async def test_a_scheduler_carries_on_where_another_stopped(
    database_url: str, service: Service, clock: FakeClock
) -> None:
    event_id = await scheduled(service, EVERY_TEN_SECONDS)
    engines = [create_engine(database_url) for _ in range(2)]
    first, second = (Scheduler(Store(engine), clock=clock) for engine in engines)
    try:
        for _ in range(2):
            clock.advance(seconds=10)
            await asyncio.gather(first.run_once(), second.run_once())
        clock.advance(seconds=10)
        await first.run_once()  # then the first one stops
        for _ in range(2):
            clock.advance(seconds=10)
            await second.run_once()
    finally:
        for engine in engines:
            await engine.dispose()
    executions = await service.store.executions.latest(
        event_id=event_id, visible_to=None, limit=100
    )
    fires = sorted(e.scheduled_at for e in executions if e.scheduled_at)
    assert fires == [T0 + timedelta(seconds=s) for s in range(10, 60, 10)]


async def test_a_deleted_event_is_forgotten_at_its_next_fire(
    store: Store, service: Service, clock: FakeClock
) -> None:
    event_id = await scheduled(service)
    scheduler = Scheduler(store, clock=clock)
    clock.advance(seconds=1)
    await scheduler.run_once()
    await store.events.delete(event_id)
    assert scheduler.tracking() == 1
    clock.set(T0 + timedelta(minutes=1))
    assert await scheduler.run_once() == []
    assert scheduler.tracking() == 0


async def test_a_change_the_change_feed_misses_is_seen_within_the_refresh(
    store: Store, service: Service, clock: FakeClock
) -> None:
    event_id = await scheduled(service)
    scheduler = Scheduler(store, clock=clock, refresh=60)
    clock.advance(seconds=1)
    await scheduler.run_once()
    # moved to tomorrow by a host whose clock is an hour behind: its updated_at looks old
    tomorrow = Schedule.of_once(T0 + timedelta(days=1))
    await store.events.update(event_id, EventChanges(schedule=tomorrow), T0 - timedelta(hours=1))
    clock.set(T0 + timedelta(seconds=61))
    assert await scheduler.run_once() == []
    clock.set(T0 + timedelta(days=1))
    assert await scheduler.run_once() != []


async def test_a_schedule_that_cannot_be_computed_is_set_aside_and_the_rest_fire(
    store: Store, service: Service, clock: FakeClock
) -> None:
    """A schedule stored before it was validated (or by an older version) must not stop the
    scheduler for everyone: it is paused with the reason, the canary fires on."""
    far = Schedule(
        ScheduleKind.CRON, cron="* * * * *", start=datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    )
    broken = await scheduled(service, far)
    canary = await scheduled(service, EVERY_SECOND)
    scheduler = Scheduler(store, clock=clock)
    clock.set(T0 + timedelta(seconds=3))
    made = await scheduler.run_once()
    assert {execution.event_id for execution in made} == {canary}
    event = await store.events.get(broken)
    assert event.status is EventStatus.PAUSED
    assert event.paused_reason is not None
    assert "cannot be computed" in event.paused_reason
    clock.set(T0 + timedelta(seconds=5))
    made = await scheduler.run_once()
    assert {execution.event_id for execution in made} == {canary}
    # a resume clears the reason (and the scheduler tries again)
    await store.events.update(broken, EventChanges(status=EventStatus.ACTIVE), now=T0)
    assert (await store.events.get(broken)).paused_reason is None


async def test_the_scheduler_loop_survives_an_unexpected_error(
    store: Store, service: Service, clock: FakeClock
) -> None:
    canary = await scheduled(service, EVERY_SECOND)
    clock.advance(seconds=1)  # the canary is due: every tick of the loop fires it
    scheduler = Scheduler(store, clock=clock, tick=0.05)
    failures = {"left": 2}
    real = store.schedules.fire

    async def failing(*args: object, **kwargs: object) -> object:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a bug in one tick")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    async def fired() -> bool:
        return bool(await store.executions.latest(event_id=canary, visible_to=None, limit=10))

    store.schedules.fire = failing  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    try:
        await until(fired, 10, "the canary firing after the failed ticks")
    finally:
        stop.set()
        await running
    assert failures["left"] == 0
    assert scheduler.health.loop("scheduler").ok
