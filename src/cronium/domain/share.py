"""Sharing an event or a workflow with another user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ShareRole(StrEnum):
    """``viewer``: read the event, its executions and logs. ``operator``: also run and
    cancel it. Only the owner (or an admin) changes or deletes it."""

    VIEWER = "viewer"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Share:
    event_id: int
    user_id: int
    user_name: str
    role: ShareRole
    created_at: datetime
