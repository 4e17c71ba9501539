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

from cronium.errors import InvalidInputError

MIN_INTERVAL = timedelta(seconds=1)


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
        schedule = cls(ScheduleKind.CRON, cron=expression.strip(), timezone=timezone,
                       start=start, end=end)  # fmt: skip
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

    def check(self) -> None:
        """InvalidInputError saying what is wrong, if anything."""
        for name in ("anchor", "at", "start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInputError(f"schedule {name}: give a time zone (e.g. ...Z or +02:00)")
        if self.start and self.end and self.end <= self.start:
            raise InvalidInputError("schedule window: end must come after start")
        if self.kind is ScheduleKind.CRON:
            self._check_cron()
        elif self.kind is ScheduleKind.INTERVAL:
            if self.every is None or self.every < MIN_INTERVAL:
                raise InvalidInputError("interval schedule: 'every' must be at least 1 second")
            if self.anchor is None:
                raise InvalidInputError("interval schedule: give an anchor instant")
        elif self.at is None:
            raise InvalidInputError("one-off schedule: give the instant 'at'")

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
        """The next ``count`` fire times after ``after`` (fewer if the schedule ends)."""
        return list(islice(self.fires_after(after), count))

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
