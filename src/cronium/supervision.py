"""Supervised loops: a loop that stops is an outage.

Each long-running loop of a process (the scheduler's tick, the worker's claims and control,
the runtime API...) reports every step to its ``LoopHealth``. A database error is an outage:
the loop logs once when it begins and once when it ends, and waits a capped, growing delay
between tries. Any other exception is a bug concerning one step: it is logged with its
traceback and the loop goes on. ``Health`` gathers the loops of a process for ``/readyz``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cronium.errors import StorageError

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 10.0


@dataclass
class LoopHealth:
    """How one loop fares: whether its last step worked, and since when it fails."""

    name: str
    failing_since: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    steps: int = 0
    storage_failing: bool = False  # the last failure was the database's

    @property
    def ok(self) -> bool:
        return self.failing_since is None

    def succeeded(self) -> None:
        """A step went through: the outage, if any, is over."""
        self.steps += 1
        if self.failing_since is not None:
            log.warning(
                "%s works again after %d failed attempt(s) since %s",
                self.name,
                self.failures,
                self.failing_since.isoformat(timespec="seconds"),
            )
        self.failing_since, self.last_error, self.failures = None, None, 0
        self.storage_failing = False

    def failed(self, exc: BaseException) -> float:
        """A step failed: log it (an outage once, a bug each time); the seconds to wait."""
        self.failures += 1
        self.storage_failing = isinstance(exc, StorageError)
        if isinstance(exc, StorageError):
            if self.failing_since is None:
                log.warning("%s cannot reach the database, retrying: %s", self.name, exc)
        else:
            log.error("%s failed unexpectedly", self.name, exc_info=exc)
        if self.failing_since is None:
            self.failing_since = datetime.now(UTC)
        self.last_error = f"{type(exc).__name__}: {exc}"
        return float(min(MAX_DELAY, FIRST_DELAY * 2 ** min(self.failures - 1, 10)))

    def report(self) -> dict[str, Any]:
        if self.ok:
            return {"status": "ok"}
        assert self.failing_since is not None
        return {
            "status": "failing",
            "since": self.failing_since.isoformat(),
            "error": self.last_error,
            "failures": self.failures,
        }


@dataclass
class Health:
    """The supervised loops of one process."""

    loops: dict[str, LoopHealth] = field(default_factory=dict)

    def loop(self, name: str) -> LoopHealth:
        """The health of loop ``name``, made on first use."""
        return self.loops.setdefault(name, LoopHealth(name))

    def adopt(self, loop: LoopHealth) -> None:
        """Report ``loop`` too (one that supervises itself elsewhere, a thread's say)."""
        self.loops[loop.name] = loop

    @property
    def ok(self) -> bool:
        return all(loop.ok for loop in self.loops.values())

    @property
    def storage_failing(self) -> bool:
        """Whether a loop fails because the database refuses its reads or writes."""
        return any(loop.storage_failing for loop in self.loops.values())

    def report(self) -> dict[str, Any]:
        return {name: loop.report() for name, loop in sorted(self.loops.items())}
