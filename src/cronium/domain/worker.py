"""Workers: who runs executions, where, and whether they are still alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# How long a running execution's worker may stay silent before the execution counts as lost.
DEFAULT_LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker process as it registered, with its last heartbeat."""

    id: str
    host: str
    pid: int
    backend: str
    tags: tuple[str, ...]
    capacity: int
    running: int
    started_at: datetime
    last_heartbeat_at: datetime
    stopped_at: datetime | None = None

    def state(self, now: datetime, lease: timedelta) -> str:
        """ "stopped" after a clean stop, "dead" when its heartbeat is older than a lease."""
        if self.stopped_at is not None:
            return "stopped"
        return "dead" if now - self.last_heartbeat_at > lease else "alive"
