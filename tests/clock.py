"""A clock the test moves: pass it where Cronium takes a ``Clock`` (the service, the scheduler)."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """Always ``now``, until the test sets it or moves it on."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment

    def advance(self, **delta: float) -> datetime:
        """Move on by a ``timedelta(**delta)``; the new time."""
        return self.set(self.now + timedelta(**delta))
