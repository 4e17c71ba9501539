"""Schedules: when an event fires. Pure: time is always an argument.

Three kinds: ``cron`` (5 fields, or 6 with seconds first, in an IANA time zone), ``interval``
(every N seconds from an anchor instant: true intervals, not cron approximations) and ``once``
(one instant). Any of them may be limited to a window (``start`` .. ``end``).

Time zones: cron expressions are read in the schedule's zone and every fire time is converted
to UTC at once; comparisons happen in UTC only. Daylight saving, as cronsim computes it:

- a wall-clock time that happens twice (autumn, clocks go back) fires once, at its first
  occurrence;
- a wall-clock time that does not exist (spring, clocks go forward) fires once, at the first
  valid instant after the gap (02:30 in Europe/Paris on the last Sunday of March fires at
  03:00).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from cronium.domain.settings import Codec, setting
from cronium.errors import InvalidInputError

MIN_INTERVAL = timedelta(seconds=1)
# Ten years: longer intervals are one-off runs. Instants are kept within years 1970 to 9000,
# so that every fire computed from them (and a catch-up window around it) stays representable.
MAX_INTERVAL_SECONDS = 10 * 366 * 24 * 3600
MAX_INTERVAL = timedelta(seconds=MAX_INTERVAL_SECONDS)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class ScheduleKind(enum.StrEnum):
    CRON = "cron"
    INTERVAL = "interval"
    ONCE = "once"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When an event fires; checked when made (``Schedule.cron(...)`` and friends)."""

    kind: ScheduleKind
    cron: str | None = None
    timezone: str = "UTC"
    every: timedelta | None = None
    anchor: datetime | None = None
    at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of_cron(
        cls,
        expression: str,
        timezone: str = "UTC",
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Schedule:
        schedule = cls(
            ScheduleKind.CRON, cron=expression.strip(), timezone=timezone, start=start, end=end
        )
        schedule.check()
        return schedule

    @classmethod
    def of_interval(
        cls,
        every: timedelta,
        anchor: datetime,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Schedule:
        schedule = cls(ScheduleKind.INTERVAL, every=every, anchor=anchor, start=start, end=end)
        schedule.check()
        return schedule

    @classmethod
    def of_once(cls, at: datetime) -> Schedule:
        schedule = cls(ScheduleKind.ONCE, at=at)
        schedule.check()
        return schedule

    def check(self, now: datetime | None = None) -> None:
        """InvalidInputError saying what is wrong, if anything.

        With ``now`` (a schedule being saved), its instants must also lie within ``EARLIEST``
        and ``LATEST`` and its next fire after ``now`` must be computable. Without it (a
        schedule read back from storage) those are not checked, so that an older stored
        schedule can still be read, shown and replaced.
        """
        self._check_instants(ranged=now is not None)
        if self.start and self.end and self.end <= self.start:
            raise InvalidInputError("schedule window: end must come after start")
        if self.kind is ScheduleKind.CRON:
            self._check_cron()
        elif self.kind is ScheduleKind.INTERVAL:
            if (
                self.every is None
                or self.every < MIN_INTERVAL
                or (self.every > MAX_INTERVAL and now)
            ):
                raise InvalidInputError(
                    "interval schedule: 'every_seconds' must be at least 1 second and at most"
                    f" {MAX_INTERVAL_SECONDS} (ten years)"
                )
            if self.anchor is None:
                raise InvalidInputError("interval schedule: give an anchor instant")
        elif self.at is None:
            raise InvalidInputError("one-off schedule: give the instant 'at'")
        elif now is not None and self.at <= now:
            raise InvalidInputError(
                f"one-off schedule: 'at' ({self.at.isoformat()}) is in the past, so it would "
                "never fire: give a time to come"
            )
        if now is not None:
            self.next_fires(now, 1)

    def _check_instants(self, *, ranged: bool) -> None:
        for name in ("anchor", "at", "start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInputError(f"schedule {name}: give a time zone (e.g. ...Z or +02:00)")
            if ranged and value is not None and not EARLIEST <= value <= LATEST:
                raise InvalidInputError(
                    f"schedule {name}: {value.isoformat()} is out of range: give an instant"
                    f" between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
                )

    def _check_cron(self) -> None:
        if not self.cron:
            raise InvalidInputError("cron schedule: give an expression such as '*/5 * * * *'")
        fields = len(self.cron.split())
        if fields not in (5, 6):
            raise InvalidInputError(
                f"cron expression {self.cron!r} has {fields} fields: use 5 (minute hour day "
                "month weekday) or 6 (second first)"
            )
        zone = self.zone()
        try:
            CronSim(self.cron, datetime(2000, 1, 1, tzinfo=zone))
        except CronSimError as exc:
            raise InvalidInputError(f"cron expression {self.cron!r} is not valid: {exc}") from exc

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInputError(
                f"unknown time zone {self.timezone!r}: use an IANA name such as Europe/Paris"
            ) from exc

    def fires_after(self, after: datetime) -> Iterator[datetime]:
        """Fire times (UTC) strictly after ``after``, in order, within the window."""
        start = max(after, self.start - timedelta(microseconds=1)) if self.start else after
        for fire in self._raw_after(start):
            if self.end is not None and fire > self.end:
                return
            yield fire

    def next_fires(self, after: datetime, count: int) -> list[datetime]:
        """The next ``count`` fire times after ``after`` (fewer if the schedule ends);
        InvalidInputError if they lie past what a datetime can hold."""
        try:
            return list(islice(self.fires_after(after), count))
        except (OverflowError, ValueError, CronSimError) as exc:
            raise InvalidInputError(
                f"the schedule's next fire after {after.isoformat()} cannot be computed ({exc}):"
                " check its start, anchor and expression"
            ) from exc

    def fires_between(self, since: datetime, until: datetime) -> Iterator[datetime]:
        """Fire times in ``(since, until]``."""
        for fire in self.fires_after(since):
            if fire > until:
                return
            yield fire

    def _raw_after(self, after: datetime) -> Iterator[datetime]:
        if self.kind is ScheduleKind.CRON:
            assert self.cron is not None
            # cronsim steps in the zone's wall-clock time from ``after`` (exclusive).
            for local in CronSim(self.cron, after.astimezone(self.zone())):
                yield local.astimezone(UTC)
        elif self.kind is ScheduleKind.INTERVAL:
            assert self.every is not None
            assert self.anchor is not None
            steps = max(0, (after - self.anchor) // self.every + 1)
            fire = self.anchor + steps * self.every
            while True:
                yield fire.astimezone(UTC)
                fire += self.every
        else:
            assert self.at is not None
            if self.at > after:
                yield self.at.astimezone(UTC)


class MissedRuns(enum.StrEnum):
    """What to do with fires missed while no scheduler ran."""

    SKIP = "skip"  # drop them
    RUN_ONCE = "run_once"  # run the most recent one once
    RUN_ALL = "run_all"  # run each of them, within the catch-up window


class Concurrency(enum.StrEnum):
    """What a fire does while an earlier run of the event has not ended."""

    ALLOW = "allow"  # run anyway (up to max_concurrent, if set)
    FORBID = "forbid"  # skip this fire, recorded as skipped
    REPLACE = "replace"  # cancel the earlier run, then run


# A fire this late is still "on time"; an older one was missed (the scheduler was down).
ON_TIME = timedelta(seconds=5)
# However long the downtime, one tick never queues more runs of one event than this.
MAX_CATCH_UP = 1000


SECONDS = Codec(lambda span: int(span.total_seconds()), lambda seconds: timedelta(seconds=seconds))


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    """How a schedule's fires are run: after downtime, and beside runs that have not ended.
    Its fields are event settings (see ``domain/settings.py``)."""

    missed_runs: MissedRuns = setting(
        MissedRuns.RUN_ONCE,
        documents="both",
        codec=Codec(str, MissedRuns),
        description="skip, run_once or run_all: the fires missed while nothing ran.",
    )
    catch_up: timedelta = setting(
        timedelta(hours=1),
        name="catch_up_seconds",
        codec=SECONDS,
        documents="both",
        ge=0,
        le=30 * 86400,
        description="How far back missed fires are run (seconds).",
    )
    concurrency: Concurrency = setting(
        Concurrency.ALLOW,
        documents="both",
        codec=Codec(str, Concurrency),
        description="allow, forbid or replace: a fire while an earlier run has not ended.",
    )
    max_concurrent: int | None = setting(None, clearable=True, documents="both", ge=1, le=1000)
    max_executions: int | None = setting(
        None, clearable=True, documents="both", ge=1, description="Then the event pauses."
    )


def plan_fires(
    schedule: Schedule, policy: SchedulePolicy, cursor: datetime, now: datetime
) -> list[datetime]:
    """The fires to run now, of those due in ``(cursor, now]``, by the missed-run policy."""
    due: list[datetime] = []
    for fire in schedule.fires_between(cursor, now):
        due.append(fire)
        if len(due) > MAX_CATCH_UP:
            due.pop(0)
    missed = [fire for fire in due if fire < now - ON_TIME]
    on_time = [fire for fire in due if fire >= now - ON_TIME]
    if not missed or policy.missed_runs is MissedRuns.SKIP:
        return on_time
    if policy.missed_runs is MissedRuns.RUN_ONCE:
        return due[-1:]  # the most recent, once, whether it was missed or is on time
    return [fire for fire in due if fire >= now - policy.catch_up]


def concurrency_action(policy: SchedulePolicy, active: int) -> Concurrency:
    """ALLOW (run), FORBID (record the fire as skipped) or REPLACE (cancel, then run)."""
    if active == 0:
        return Concurrency.ALLOW
    if policy.concurrency is Concurrency.ALLOW:
        if policy.max_concurrent is not None and active >= policy.max_concurrent:
            return Concurrency.FORBID
        return Concurrency.ALLOW
    return policy.concurrency


def schedule_to_json(schedule: Schedule) -> dict[str, object]:
    """The stored form of a schedule (ISO times, seconds)."""
    return {
        "kind": schedule.kind.value,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "every_seconds": None if schedule.every is None else schedule.every.total_seconds(),
        "anchor": _iso(schedule.anchor),
        "at": _iso(schedule.at),
        "start": _iso(schedule.start),
        "end": _iso(schedule.end),
    }


def schedule_from_json(data: dict[str, object]) -> Schedule:
    every = data.get("every_seconds")
    schedule = Schedule(
        kind=ScheduleKind(str(data["kind"])),
        cron=None if data.get("cron") is None else str(data["cron"]),
        timezone=str(data.get("timezone") or "UTC"),
        every=None if every is None else timedelta(seconds=float(str(every))),
        anchor=_parse(data.get("anchor")),
        at=_parse(data.get("at")),
        start=_parse(data.get("start")),
        end=_parse(data.get("end")),
    )
    schedule.check()
    return schedule


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))
