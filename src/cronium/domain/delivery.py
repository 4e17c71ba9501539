"""A user's tools as stored, and the deliveries made through them."""

from __future__ import annotations

import enum
import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TOOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TOOL_DESCRIPTION_MAX = 500


def check_tool_name(name: str) -> str:
    """ValueError unless ``name`` can name a tool."""
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        raise ValueError(
            f"{str(name)[:80]!r} is not a tool name: use 1 to 64 letters, digits, '_', '.' or '-',"
            " starting with a letter or a digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class Tool:
    """One of a user's tools. ``credentials`` are decrypted only where they are used;
    ``summary`` is what may be shown (never a secret)."""

    id: int
    owner_id: int
    name: str
    kind: str
    description: str
    summary: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    credentials: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    """How hard a delivery is tried: ``attempts`` in all, waiting ``backoff_seconds`` doubled
    after each transient failure (or what a Retry-After asks), at most ``backoff_max_seconds``."""

    attempts: int = 5
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    timeout_seconds: float = 30.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt, after ``attempts`` were made: the backoff (with a
        jitter of +-10 %, at most ``backoff_max_seconds``), or what a Retry-After asks if
        that is longer."""
        backoff = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
        backoff *= 0.9 + 0.2 * random.random()
        return float(max(backoff, retry_after or 0.0))


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENT = "sent"
    FAILED = "failed"  # given up: permanently refused, or out of attempts


class DeliverySource(enum.StrEnum):
    ACTION = "action"  # a conditional action of an ended run
    SCRIPT = "script"  # a script's helper call
    EVENT = "event"  # a tool event's run
    TEST = "test"  # `cronium tools test`


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    owner_id: int
    execution_id: int | None
    tool_id: int | None
    tool: str
    kind: str | None
    action: str
    source: DeliverySource
    status: DeliveryStatus
    target: str
    attempts: int
    code: int | None
    reply: str | None
    error: str | None
    created_at: datetime
    due_at: datetime | None
    first_attempt_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """What REST, the runtime API and the CLI show (no params: they may be long)."""
        return {
            "id": self.id,
            "execution_id": self.execution_id,
            "tool": self.tool,
            "kind": self.kind,
            "action": self.action,
            "source": str(self.source),
            "status": str(self.status),
            "target": self.target,
            "attempts": self.attempts,
            "code": self.code,
            "reply": self.reply,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "first_attempt_at": iso_or_none(self.first_attempt_at),
            "finished_at": iso_or_none(self.finished_at),
        }


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
