"""The executions a worker is running now: the only ones whose tokens the runtime API accepts."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ActiveExecution:
    """What the runtime API knows of a running execution."""

    execution_id: int
    event_id: int
    event_name: str
    language: str
    owner_id: int
    attempt: int
    trigger: str
    scheduled_at: datetime | None
    input: Any

    def context(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "event_id": self.event_id,
            "event_name": self.event_name,
            "language": self.language,
            "attempt": self.attempt,
            "trigger": self.trigger,
            "scheduled_at": None if self.scheduled_at is None else self.scheduled_at.isoformat(),
            "owner_id": self.owner_id,
        }


class Registry:
    """Thread-safe: the worker adds and removes, the runtime API's thread reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, ActiveExecution] = {}

    def add(self, execution: ActiveExecution) -> None:
        with self._lock:
            self._active[execution.execution_id] = execution

    def remove(self, execution_id: int) -> None:
        with self._lock:
            self._active.pop(execution_id, None)

    def get(self, execution_id: int) -> ActiveExecution | None:
        with self._lock:
            return self._active.get(execution_id)
