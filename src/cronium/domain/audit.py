"""The audit log's entries and the names of the actions it records."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class AuditAction(StrEnum):
    """What can be recorded. Filters name them as written here."""

    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    ADMIN_SCOPE_USE = "token.admin_use"
    SECRET_READ = "secret.read"
    SECRET_WRITE = "secret.write"
    SECRET_DELETE = "secret.delete"
    SECRET_REVEAL = "secret.reveal"
    SECRET_KEY_ROTATE = "secret.rotate_key"
    SHARE_ADD = "share.add"
    SHARE_REMOVE = "share.remove"
    USER_CREATE = "user.create"
    USER_ROLE = "user.set_role"
    USER_PASSWORD = "user.set_password"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_DELETE = "user.delete"
    TOOL_CREATE = "tool.create"
    TOOL_CHANGE = "tool.change"
    TOOL_DELETE = "tool.delete"
    EVENT_CREATE = "event.create"
    EVENT_CHANGE = "event.change"
    EVENT_RESTORE = "event.restore"
    EVENT_DELETE = "event.delete"
    WEBHOOK_CREATE = "webhook.create"
    WEBHOOK_DELETE = "webhook.delete"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action: who did it (by id and by name, kept after the user is deleted),
    on what, from where, and (for a script) in which execution."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str | None
    action: str
    target: str | None
    address: str | None
    execution_id: int | None
    detail: dict[str, Any] | None


# The client address of the request being served (set by the REST API for each request), so
# that entries recorded deep in the service layer say where the action came from.
client_address: ContextVar[str | None] = ContextVar("cronium_client_address", default=None)
