"""The executions a worker is running now: the only ones whose tokens the runtime API accepts."""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# An event's type in Cronium's context, by the language of its script.
EVENT_TYPES = {"bash": "BASH", "python": "PYTHON", "node": "NODEJS"}


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
    worker_id: str | None = None
    uid: int | None = None  # the run's host uid: only a caller with it may use its token

    @property
    def held_by(self) -> tuple[int, str] | None:
        """The execution and the worker that must still hold it for a write to count."""
        return None if self.worker_id is None else (self.execution_id, self.worker_id)

    def context(self) -> dict[str, Any]:
        """What a script's ``event()`` answers: ours, then the same under the names of Cronium's
        documentation (its ids are strings, its type names the language as its events do)."""
        scheduled_at = None if self.scheduled_at is None else self.scheduled_at.isoformat()
        kind = EVENT_TYPES.get(self.language, self.language.upper())
        return {
            "execution_id": self.execution_id,
            "event_id": self.event_id,
            "event_name": self.event_name,
            "language": self.language,
            "attempt": self.attempt,
            "trigger": self.trigger,
            "scheduled_at": scheduled_at,
            "owner_id": self.owner_id,
            "id": str(self.event_id),
            "name": self.event_name,
            "type": kind,
            "userId": str(self.owner_id),
            "executionId": str(self.execution_id),
            "eventId": str(self.event_id),
            "eventName": self.event_name,
            "eventType": kind,
            "metadata": {
                "attempt": self.attempt,
                "trigger": self.trigger,
                "scheduledAt": scheduled_at,
            },
        }


@dataclass(slots=True)
class Results:
    """What a running execution handed over: kept here and stored with its end, in the same
    transaction (no database write while the script waits)."""

    output_set: bool = False
    output: Any = None
    condition: bool | None = None


class Registry:
    """Thread-safe: the worker adds and removes, the runtime API's thread reads and sets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, ActiveExecution] = {}
        self._results: dict[int, Results] = {}

    def add(self, execution: ActiveExecution) -> None:
        with self._lock:
            self._active[execution.execution_id] = execution
            self._results[execution.execution_id] = Results()

    def remove(self, execution_id: int) -> None:
        with self._lock:
            self._active.pop(execution_id, None)
            self._results.pop(execution_id, None)

    def set_output(self, execution_id: int, value: Any) -> None:
        with self._lock:
            results = self._results.get(execution_id)
            if results is not None:
                results.output_set, results.output = True, value

    def set_condition(self, execution_id: int, condition: bool) -> None:
        with self._lock:
            results = self._results.get(execution_id)
            if results is not None:
                results.condition = condition

    def results(self, execution_id: int) -> Results:
        """A copy of what the execution handed over so far."""
        with self._lock:
            results = self._results.get(execution_id) or Results()
            return Results(results.output_set, results.output, results.condition)

    def get(self, execution_id: int) -> ActiveExecution | None:
        with self._lock:
            return self._active.get(execution_id)

    def bind_uid(self, execution_id: int, uid: int) -> None:
        with self._lock:
            active = self._active.get(execution_id)
            if active is not None:
                self._active[execution_id] = dataclasses.replace(active, uid=uid)

    def admits(self, uid: int) -> bool:
        """Whether a caller of host uid ``uid`` may talk to the API: a running execution has it
        (or the worker's own user, as whom scripts run without isolation)."""
        if uid == os.geteuid():
            return True
        with self._lock:
            return any(active.uid == uid for active in self._active.values())
