"""Conditional actions: when a run ends, run another event with this run's output as input."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cronium.domain.execution import ExecutionStatus


class ActionWhen(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # failed or timed out
    ALWAYS = "always"  # any ending but cancellation
    CONDITION = "condition"  # the run set its condition to true


@dataclass(frozen=True, slots=True)
class Action:
    when: ActionWhen
    event_id: int

    def to_json(self) -> dict[str, Any]:
        return {"when": self.when.value, "event_id": self.event_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        return cls(ActionWhen(data["when"]), int(data["event_id"]))


def actions_to_run(
    actions: tuple[Action, ...], status: ExecutionStatus, condition: bool | None
) -> list[int]:
    """The events to run after a run that ended with ``status`` and ``condition``."""
    matches = {
        ActionWhen.SUCCESS: status is ExecutionStatus.SUCCEEDED,
        ActionWhen.FAILURE: status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT),
        ActionWhen.ALWAYS: status is not ExecutionStatus.CANCELLED,
        ActionWhen.CONDITION: condition is True and status is not ExecutionStatus.CANCELLED,
    }
    return [action.event_id for action in actions if matches[action.when]]
