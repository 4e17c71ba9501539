"""Schedule math, daylight saving included, without a clock."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cronium.domain.schedule import (
    MAX_CATCH_UP,
    Concurrency,
    MissedRuns,
    Schedule,
    SchedulePolicy,
    concurrency_action,
    plan_fires,
    schedule_from_json,
    schedule_to_json,
)
from cronium.errors import InvalidInputError

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def local(fires: list[datetime], zone: ZoneInfo) -> list[str]:
    return [fire.astimezone(zone).isoformat() for fire in fires]


def test_cron_fires_are_computed_in_the_zone_and_returned_in_utc() -> None:
    schedule = Schedule.of_cron("0 9 * * 1-5", "Europe/Paris")
    fires = schedule.next_fires(datetime(2026, 6, 5, 12, tzinfo=UTC), 3)  # a Friday
    assert [f.tzinfo for f in fires] == [UTC, UTC, UTC]
    assert local(fires, PARIS) == [
        "2026-06-08T09:00:00+02:00",
        "2026-06-09T09:00:00+02:00",
        "2026-06-10T09:00:00+02:00",
    ]


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # spring forward: 02:30 does not exist; it fires once, at the first valid instant
        ("Europe/Paris", datetime(2026, 3, 28), ["2026-03-28T02:30:00+01:00",
                                                 "2026-03-29T03:00:00+02:00",
                                                 "2026-03-30T02:30:00+02:00"]),
        ("America/New_York", datetime(2026, 3, 7), ["2026-03-07T02:30:00-05:00",
                                                    "2026-03-08T03:00:00-04:00",
                                                    "2026-03-09T02:30:00-04:00"]),
    ],
)  # fmt: skip
def test_a_wall_clock_time_that_does_not_exist_fires_once_after_the_gap(
    zone: str, day: datetime, expected: list[str]
) -> None:
    schedule = Schedule.of_cron("30 2 * * *", zone)
    fires = schedule.next_fires(day.replace(tzinfo=ZoneInfo(zone)), 3)
    assert local(fires, ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # fall back: 01:30 (New York) or 02:30 (Paris) happens twice; it fires once
        ("Europe/Paris", datetime(2026, 10, 24), ["2026-10-24T02:30:00+02:00",
                                                  "2026-10-25T02:30:00+02:00",
                                                  "2026-10-26T02:30:00+01:00"]),
        ("America/New_York", datetime(2026, 10, 31), ["2026-10-31T01:30:00-04:00",
                                                      "2026-11-01T01:30:00-04:00",
                                                      "2026-11-02T01:30:00-05:00"]),
    ],
)  # fmt: skip
def test_a_wall_clock_time_that_happens_twice_fires_once(
    zone: str, day: datetime, expected: list[str]
) -> None:
    hour = 2 if zone == "Europe/Paris" else 1
    schedule = Schedule.of_cron(f"30 {hour} * * *", zone)
    fires = schedule.next_fires(day.replace(tzinfo=ZoneInfo(zone)), 3)
    assert local(fires, ZoneInfo(zone)) == expected


def test_an_hourly_cron_across_the_autumn_change_keeps_real_hours() -> None:
    schedule = Schedule.of_cron("0 * * * *", "Europe/Paris")
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    fires = schedule.next_fires(start, 3)
    assert [(b - a) for a, b in itertools.pairwise(fires)] == [timedelta(hours=1)] * 2


def test_a_sub_hourly_cron_fires_at_each_real_instant_of_a_doubled_hour() -> None:
    """Europe/Paris falls back at 03:00 CEST (01:00 UTC) on 2026-10-25: 02:00-02:59 happens
    twice. ``*/30`` fires every 30 real minutes through both occurrences."""
    schedule = Schedule.of_cron("*/30 * * * *", "Europe/Paris")
    start = datetime(2026, 10, 24, 23, 45, tzinfo=UTC)  # 01:45 CEST
    fires = schedule.next_fires(start, 6)
    in_utc = [f.strftime("%H:%M") for f in fires]
    assert in_utc == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    local = [f.astimezone(PARIS).strftime("%H:%M%z") for f in fires]
    assert local[:4] == ["02:00+0200", "02:30+0200", "02:00+0100", "02:30+0100"]


def test_six_fields_take_seconds_first() -> None:
    schedule = Schedule.of_cron("*/20 * * * * *")
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert [f.second for f in schedule.next_fires(after, 3)] == [20, 40, 0]


def test_intervals_are_true_intervals_from_their_anchor() -> None:
    anchor = datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)
    schedule = Schedule.of_interval(timedelta(minutes=7), anchor)
    after = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert schedule.next_fires(after, 2) == [
        datetime(2026, 1, 1, 1, 3, 7, tzinfo=UTC),
        datetime(2026, 1, 1, 1, 10, 7, tzinfo=UTC),
    ]
    # strictly after: a fire time itself is not returned again
    assert schedule.next_fires(anchor, 1) == [anchor + timedelta(minutes=7)]


def test_a_one_off_fires_once() -> None:
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    schedule = Schedule.of_once(at)
    assert schedule.next_fires(at - timedelta(days=1), 5) == [at]
    assert schedule.next_fires(at, 5) == []


def test_the_window_bounds_the_fires() -> None:
    start = datetime(2026, 1, 1, 10, tzinfo=UTC)
    end = datetime(2026, 1, 1, 12, tzinfo=UTC)
    schedule = Schedule.of_cron("0 * * * *", start=start, end=end)
    fires = schedule.next_fires(datetime(2026, 1, 1, tzinfo=UTC), 10)
    assert fires == [start, start + timedelta(hours=1), end]


def test_fires_between_is_half_open() -> None:
    schedule = Schedule.of_cron("*/15 * * * *")
    since = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    fires = list(schedule.fires_between(since, since + timedelta(minutes=45)))
    assert [f.minute for f in fires] == [15, 30, 45]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Schedule.of_cron("* * *"), "has 3 fields"),
        (lambda: Schedule.of_cron("61 * * * *"), "is not valid"),
        (lambda: Schedule.of_cron("0 9 * * *", "Mars/Olympus"), "unknown time zone"),
        (lambda: Schedule.of_interval(timedelta(0), datetime(2026, 1, 1, tzinfo=UTC)),
         "at least 1 second"),
        (lambda: Schedule.of_once(datetime(2026, 1, 1)), "give a time zone"),
        (lambda: Schedule.of_cron("* * * * *", start=datetime(2026, 2, 1, tzinfo=UTC),
                                  end=datetime(2026, 1, 1, tzinfo=UTC)), "end must come after"),
    ],
)  # fmt: skip
def test_bad_schedules_say_what_is_wrong(make: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        make()  # type: ignore[operator]


EVERY_MINUTE = Schedule.of_cron("* * * * *")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def plan(policy: SchedulePolicy, downtime: timedelta) -> list[datetime]:
    return plan_fires(EVERY_MINUTE, policy, T0, T0 + downtime)


def test_an_on_time_fire_runs_whatever_the_policy() -> None:
    for missed in MissedRuns:
        fires = plan(SchedulePolicy(missed_runs=missed), timedelta(minutes=1, seconds=1))
        assert fires == [T0 + timedelta(minutes=1)]


def test_missed_runs_skip_drops_what_was_missed() -> None:
    assert (
        plan(SchedulePolicy(missed_runs=MissedRuns.SKIP), timedelta(minutes=10, seconds=30)) == []
    )
    # but the fire of this very moment still runs
    assert plan(SchedulePolicy(missed_runs=MissedRuns.SKIP), timedelta(minutes=10)) == [
        T0 + timedelta(minutes=10)
    ]


def test_missed_runs_run_once_runs_the_latest_once() -> None:
    fires = plan(SchedulePolicy(missed_runs=MissedRuns.RUN_ONCE), timedelta(minutes=10, seconds=30))
    assert fires == [T0 + timedelta(minutes=10)]


def test_missed_runs_run_all_runs_each_within_the_window_and_never_storms() -> None:
    policy = SchedulePolicy(missed_runs=MissedRuns.RUN_ALL, catch_up=timedelta(minutes=5))
    fires = plan(policy, timedelta(minutes=10, seconds=30))
    assert fires == [T0 + timedelta(minutes=m) for m in range(6, 11)]
    long_policy = SchedulePolicy(missed_runs=MissedRuns.RUN_ALL, catch_up=timedelta(days=30))
    assert len(plan(long_policy, timedelta(days=10))) == MAX_CATCH_UP


@pytest.mark.parametrize(
    ("policy", "active", "action"),
    [
        (SchedulePolicy(), 0, Concurrency.ALLOW),
        (SchedulePolicy(), 3, Concurrency.ALLOW),
        (SchedulePolicy(max_concurrent=2), 2, Concurrency.FORBID),
        (SchedulePolicy(concurrency=Concurrency.FORBID), 1, Concurrency.FORBID),
        (SchedulePolicy(concurrency=Concurrency.FORBID), 0, Concurrency.ALLOW),
        (SchedulePolicy(concurrency=Concurrency.REPLACE), 1, Concurrency.REPLACE),
    ],
)
def test_concurrency_policies(policy: SchedulePolicy, active: int, action: Concurrency) -> None:
    assert concurrency_action(policy, active) is action


def test_schedules_round_trip_through_their_stored_form() -> None:
    schedules = [
        Schedule.of_cron("0 9 * * 1-5", "Europe/Paris", start=T0),
        Schedule.of_interval(timedelta(seconds=90), T0),
        Schedule.of_once(T0),
    ]
    for schedule in schedules:
        assert schedule_from_json(schedule_to_json(schedule)) == schedule


def test_a_one_off_in_the_past_is_refused_when_saved() -> None:
    past = Schedule.of_once(T0 - timedelta(minutes=1))
    with pytest.raises(InvalidInputError, match="is in the past, so it would never fire"):
        past.check(T0)
    past.check()  # read back from storage: still shown
