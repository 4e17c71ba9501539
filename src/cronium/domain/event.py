"""Events: what a user asks Cronium to run, and the bounds its limits must stay within."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cronium.domain.action import Action
from cronium.domain.http import HttpRequest
from cronium.domain.schedule import Schedule, SchedulePolicy
from cronium.domain.workflow import Graph

# Defaults and bounds of the security table (ARCHITECTURE.md 4.2).
CPUS_DEFAULT, CPUS_MIN, CPUS_MAX = 0.5, 0.05, 2.0
MEMORY_MB_DEFAULT, MEMORY_MB_MIN, MEMORY_MB_MAX = 512, 16, 2048
PIDS_DEFAULT, PIDS_MIN, PIDS_MAX = 100, 1, 1000
TIMEOUT_DEFAULT, TIMEOUT_MIN, TIMEOUT_MAX = 300.0, 1.0, 86400.0
NAME_MAX = 200
SCRIPT_MAX_BYTES = 1024 * 1024
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV_PREFIX = "CRONIUM_"

# No network at all, or outbound access (only where an administrator allows it).
Network = Literal["none", "egress"]


class EventStatus(enum.StrEnum):
    """Only active events fire on their schedule; every status but archived can be run by hand."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class EventKind(enum.StrEnum):
    """A script run in a sandbox, an HTTP request made by the worker, or a workflow of events."""

    SCRIPT = "script"
    HTTP = "http"
    WORKFLOW = "workflow"


class Language(enum.StrEnum):
    """Interpreters a script event can use."""

    BASH = "bash"
    PYTHON = "python"
    NODE = "node"

    @classmethod
    def from_filename(cls, filename: str) -> Language | None:
        """Guess the language from a script file's extension, or None."""
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return {"sh": cls.BASH, "bash": cls.BASH, "py": cls.PYTHON, "js": cls.NODE}.get(suffix)


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """What one sandboxed run may use."""

    timeout_seconds: float = TIMEOUT_DEFAULT
    cpus: float = CPUS_DEFAULT
    memory_mb: int = MEMORY_MB_DEFAULT
    pids: int = PIDS_DEFAULT


@dataclass(frozen=True, slots=True)
class Event:
    """An event, as stored: a script (``language`` and ``script``), an HTTP request (``http``)
    or a workflow (``workflow``)."""

    id: int
    owner_id: int
    name: str
    kind: EventKind
    language: Language | None
    script: str
    http: HttpRequest | None
    workflow: Graph | None
    env: dict[str, str]
    limits: ResourceLimits
    network: Network
    max_attempts: int
    retry_backoff: float  # seconds before the second attempt; doubled for each next one
    retry_backoff_max: float
    pool: str | None
    status: EventStatus
    schedule: Schedule | None
    policy: SchedulePolicy
    fire_count: int
    schedule_cursor: datetime | None  # the scheduler has handled every fire up to here
    actions: tuple[Action, ...]
    has_webhook: bool
    version: int  # grows with each change of the script or settings
    created_at: datetime
    updated_at: datetime
    paused_reason: str | None = None  # why the scheduler set the event aside, if it did
