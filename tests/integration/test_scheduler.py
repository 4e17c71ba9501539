"""The scheduler on both databases, stepped without sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cronium.domain.event import EventStatus, Language, ResourceLimits
from cronium.domain.execution import ExecutionStatus
from cronium.domain.schedule import Concurrency, MissedRuns, Schedule, SchedulePolicy
from cronium.scheduler import Scheduler
from cronium.service import Service
from cronium.storage import EventChanges, EventFields, Store
from cronium.storage.database import create_engine

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVERY_MINUTE = Schedule.of_cron("* * * * *")


async def scheduled(
    service: Service,
    schedule: Schedule = EVERY_MINUTE,
    created: datetime = T0,
    **policy: object,
) -> int:
    user, _ = await service.create_admin(f"u{datetime.now().timestamp()}")
    service.clock = lambda: created
    event = await service.create_event(
        user,
        EventFields(
            name="tick", language=Language.BASH, script="true", env={},
            limits=ResourceLimits(), schedule=schedule,
            policy=SchedulePolicy(**policy),  # type: ignore[arg-type]
        ),
    )  # fmt: skip
    return event.id


async def test_a_fire_is_queued_when_due_and_only_then(store: Store, service: Service) -> None:
    event_id = await scheduled(service)
    scheduler = Scheduler(store)
    assert await scheduler.run_once(T0 + timedelta(seconds=59)) == []
    (made,) = await scheduler.run_once(T0 + timedelta(seconds=60, milliseconds=5))
    assert (made.event_id, made.trigger, made.status) == (event_id, "schedule", "queued")
    assert made.scheduled_at == T0 + timedelta(minutes=1)
    assert await scheduler.run_once(T0 + timedelta(seconds=61)) == []


@pytest.mark.parametrize(
    ("policy", "expected_minutes"),
    [
        (MissedRuns.SKIP, []),
        (MissedRuns.RUN_ONCE, [10]),
        (MissedRuns.RUN_ALL, [6, 7, 8, 9, 10]),
    ],
)
async def test_missed_runs_after_a_downtime_follow_the_policy(
    store: Store, service: Service, policy: MissedRuns, expected_minutes: list[int]
) -> None:
    await scheduled(service, missed_runs=policy, catch_up=timedelta(minutes=5))
    # the scheduler was down from T0 until 10 min 30 s later
    made = await Scheduler(store).run_once(T0 + timedelta(minutes=10, seconds=30))
    assert [int((e.scheduled_at - T0).total_seconds() // 60) for e in made] == expected_minutes


async def test_forbid_records_a_fire_as_skipped_while_a_run_goes_on(
    store: Store, service: Service
) -> None:
    await scheduled(service, concurrency=Concurrency.FORBID)
    scheduler = Scheduler(store)
    (first,) = await scheduler.run_once(T0 + timedelta(minutes=1))
    (second,) = await scheduler.run_once(T0 + timedelta(minutes=2))
    assert first.status is ExecutionStatus.QUEUED
    assert second.status is ExecutionStatus.SKIPPED
    assert second.error == "skipped: an earlier run had not ended (concurrency: forbid)"


async def test_replace_cancels_the_earlier_run(store: Store, service: Service) -> None:
    await scheduled(service, concurrency=Concurrency.REPLACE)
    scheduler = Scheduler(store)
    (first,) = await scheduler.run_once(T0 + timedelta(minutes=1))
    (second,) = await scheduler.run_once(T0 + timedelta(minutes=2))
    assert (await store.executions.get(first.id)).status is ExecutionStatus.CANCELLED
    assert second.status is ExecutionStatus.QUEUED


async def test_allow_runs_up_to_its_maximum(store: Store, service: Service) -> None:
    await scheduled(service, concurrency=Concurrency.ALLOW, max_concurrent=2)
    scheduler = Scheduler(store)
    statuses = [(await scheduler.run_once(T0 + timedelta(minutes=m)))[0].status for m in (1, 2, 3)]
    assert statuses == [ExecutionStatus.QUEUED, ExecutionStatus.QUEUED, ExecutionStatus.SKIPPED]


async def test_max_executions_pauses_the_event_and_reactivation_resets_the_count(
    store: Store, service: Service
) -> None:
    event_id = await scheduled(service, max_executions=2)
    scheduler = Scheduler(store)
    for minute in (1, 2, 3):
        await scheduler.run_once(T0 + timedelta(minutes=minute))
    event = await store.events.get(event_id)
    assert (event.status, event.fire_count) == (EventStatus.PAUSED, 2)
    executions = await store.executions.latest(event_id=event_id, owner_id=None, limit=10)
    assert len(executions) == 2


async def test_two_schedulers_at_once_fire_each_time_exactly_once(
    database_url: str, service: Service
) -> None:
    event_id = await scheduled(service, Schedule.of_cron("*/10 * * * * *"))
    engines = [create_engine(database_url) for _ in range(2)]
    schedulers = [Scheduler(Store(engine)) for engine in engines]
    try:
        for second in range(10, 130, 10):
            now = T0 + timedelta(seconds=second)
            await asyncio.gather(*(s.run_once(now) for s in schedulers))
    finally:
        for engine in engines:
            await engine.dispose()
    executions = await service.store.executions.latest(event_id=event_id, owner_id=None, limit=100)
    fires = sorted(e.scheduled_at for e in executions if e.scheduled_at)
    assert fires == [
        T0 + timedelta(seconds=s) for s in range(10, 130, 10)
    ]  # none twice, none missed


async def test_daylight_saving_through_the_scheduler(store: Store, service: Service) -> None:
    schedule = Schedule.of_cron("30 2 * * *", "Europe/Paris")
    day = T0.replace(month=3, day=28, hour=0)
    await scheduled(service, schedule, created=day)
    scheduler = Scheduler(store)
    made = []
    for hour in range(0, 72):
        made += await scheduler.run_once(day + timedelta(hours=hour, minutes=30, seconds=1))
    assert [e.scheduled_at.isoformat() for e in made if e.scheduled_at] == [
        "2026-03-28T01:30:00+00:00",  # 02:30 CET
        "2026-03-29T01:00:00+00:00",  # 02:30 does not exist: 03:00 CEST
        "2026-03-30T00:30:00+00:00",  # 02:30 CEST
    ]


async def test_a_scheduler_carries_on_where_another_stopped(
    database_url: str, service: Service
) -> None:
    event_id = await scheduled(service, Schedule.of_cron("*/10 * * * * *"))
    engines = [create_engine(database_url) for _ in range(2)]
    first, second = (Scheduler(Store(engine)) for engine in engines)
    try:
        for seconds in (10, 20):
            now = T0 + timedelta(seconds=seconds)
            await asyncio.gather(first.run_once(now), second.run_once(now))
        await first.run_once(T0 + timedelta(seconds=30))  # then the first one stops
        for seconds in (40, 50):
            await second.run_once(T0 + timedelta(seconds=seconds))
    finally:
        for engine in engines:
            await engine.dispose()
    executions = await service.store.executions.latest(event_id=event_id, owner_id=None, limit=100)
    fires = sorted(e.scheduled_at for e in executions if e.scheduled_at)
    assert fires == [T0 + timedelta(seconds=s) for s in range(10, 60, 10)]


async def test_a_deleted_event_is_forgotten_at_its_next_fire(
    store: Store, service: Service
) -> None:
    event_id = await scheduled(service)
    scheduler = Scheduler(store)
    await scheduler.run_once(T0 + timedelta(seconds=1))
    await store.events.delete(event_id)
    assert scheduler.tracking() == 1
    assert await scheduler.run_once(T0 + timedelta(minutes=1)) == []
    assert scheduler.tracking() == 0


async def test_a_change_the_change_feed_misses_is_seen_within_the_refresh(
    store: Store, service: Service
) -> None:
    event_id = await scheduled(service)
    scheduler = Scheduler(store, refresh=60)
    await scheduler.run_once(T0 + timedelta(seconds=1))
    # moved to tomorrow by a host whose clock is an hour behind: its updated_at looks old
    tomorrow = Schedule.of_once(T0 + timedelta(days=1))
    await store.events.update(event_id, EventChanges(schedule=tomorrow), T0 - timedelta(hours=1))
    assert await scheduler.run_once(T0 + timedelta(seconds=61)) == []
    assert await scheduler.run_once(T0 + timedelta(days=1)) != []


async def test_a_schedule_that_cannot_be_computed_is_set_aside_and_the_rest_fire(
    store: Store, service: Service
) -> None:
    """A schedule stored before it was validated (or by an older version) must not stop the
    scheduler for everyone: it is paused with the reason, the canary fires on."""
    from cronium.domain.schedule import ScheduleKind

    far = Schedule(
        ScheduleKind.CRON, cron="* * * * *", start=datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    )
    broken = await scheduled(service, far)
    canary = await scheduled(service, Schedule.of_cron("* * * * * *"))
    scheduler = Scheduler(store)
    made = await scheduler.run_once(T0 + timedelta(seconds=3))
    assert {execution.event_id for execution in made} == {canary}
    event = await store.events.get(broken)
    assert event.status is EventStatus.PAUSED
    assert event.paused_reason is not None
    assert "cannot be computed" in event.paused_reason
    made = await scheduler.run_once(T0 + timedelta(seconds=5))
    assert {execution.event_id for execution in made} == {canary}
    # a resume clears the reason (and the scheduler tries again)
    await store.events.update(broken, EventChanges(status=EventStatus.ACTIVE), now=T0)
    assert (await store.events.get(broken)).paused_reason is None


async def test_the_scheduler_loop_survives_an_unexpected_error(
    store: Store, service: Service
) -> None:
    canary = await scheduled(service, Schedule.of_cron("* * * * * *"), created=datetime.now(UTC))
    scheduler = Scheduler(store, tick=0.05)
    failures = {"left": 2}
    real = store.schedules.fire

    async def failing(*args: object, **kwargs: object) -> object:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a bug in one tick")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    store.schedules.fire = failing  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    for _ in range(200):  # bounded: 200 x 50 ms
        if await store.executions.latest(event_id=canary, owner_id=None, limit=10):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await running
    assert failures["left"] == 0
    assert await store.executions.latest(event_id=canary, owner_id=None, limit=10)
    assert scheduler.health.loop("scheduler").ok
