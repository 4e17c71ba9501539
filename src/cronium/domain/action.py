"""Conditional actions: when a run ends, run another event with this run's output as input,
or send a message through one of the owner's tools."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cronium.domain.execution import ExecutionStatus


class ActionWhen(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # failed or timed out
    ALWAYS = "always"  # any ending but cancellation
    CONDITION = "condition"  # the run set its condition to true


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool action: ``tool`` names one of the owner's tools (or a kind: the owner's tool
    of that kind), ``params`` may hold templates (see cronium/templates.py)."""

    tool: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "action": self.action, "params": self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolCall:
        return cls(str(data["tool"]), str(data["action"]), dict(data.get("params") or {}))


@dataclass(frozen=True, slots=True)
class Action:
    """Run ``event_id``, or send ``notify``, when a run ends as ``when`` says."""

    when: ActionWhen
    event_id: int | None = None
    notify: ToolCall | None = None

    def to_json(self) -> dict[str, Any]:
        if self.notify is not None:
            return {"when": self.when.value, "notify": self.notify.to_json()}
        return {"when": self.when.value, "event_id": self.event_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        if data.get("notify") is not None:
            return cls(ActionWhen(data["when"]), notify=ToolCall.from_json(data["notify"]))
        return cls(ActionWhen(data["when"]), int(data["event_id"]))


def _matching(
    actions: tuple[Action, ...], status: ExecutionStatus, condition: bool | None
) -> list[Action]:
    matches = {
        ActionWhen.SUCCESS: status is ExecutionStatus.SUCCEEDED,
        ActionWhen.FAILURE: status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT),
        ActionWhen.ALWAYS: status is not ExecutionStatus.CANCELLED,
        ActionWhen.CONDITION: condition is True and status is not ExecutionStatus.CANCELLED,
    }
    return [action for action in actions if matches[action.when]]


def actions_to_run(
    actions: tuple[Action, ...], status: ExecutionStatus, condition: bool | None
) -> list[int]:
    """The events to run after a run that ended with ``status`` and ``condition``."""
    return [
        action.event_id
        for action in _matching(actions, status, condition)
        if action.event_id is not None
    ]


def notifications_to_send(
    actions: tuple[Action, ...], status: ExecutionStatus, condition: bool | None
) -> list[ToolCall]:
    """The messages to send after a run that ended with ``status`` and ``condition``."""
    return [
        action.notify
        for action in _matching(actions, status, condition)
        if action.notify is not None
    ]
