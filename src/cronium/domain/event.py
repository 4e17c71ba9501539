"""Events: what a user asks Cronium to run, and the bounds its limits must stay within."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cronium.domain.action import Action, ToolCall
from cronium.domain.http import HttpRequest
from cronium.domain.schedule import (
    Schedule,
    SchedulePolicy,
    schedule_from_json,
    schedule_to_json,
)
from cronium.domain.settings import Codec, group, setting
from cronium.domain.variable import KEY_PATTERN
from cronium.domain.workflow import Graph

# Defaults and bounds of the limits table in docs/sandbox.md ("What every sandbox guarantees").
CPUS_DEFAULT, CPUS_MIN, CPUS_MAX = 0.5, 0.05, 2.0
MEMORY_MB_DEFAULT, MEMORY_MB_MIN, MEMORY_MB_MAX = 512, 16, 2048
PIDS_DEFAULT, PIDS_MIN, PIDS_MAX = 100, 1, 1000
TIMEOUT_DEFAULT, TIMEOUT_MIN, TIMEOUT_MAX = 300.0, 1.0, 86400.0
NAME_MAX = 200
DESCRIPTION_MAX = 2000
TAGS_MAX, TAG_MAX = 20, 40
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
POOL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
SCRIPT_MAX_BYTES = 1024 * 1024
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV_PREFIX = "CRONIUM_"
SECRETS_MAX = 64

# How a sandbox gets one of its owner's secrets: as the file /run/secrets/KEY, or in the
# environment under the name KEY (see docs/sandbox.md).
SecretMode = Literal["file", "env"]

# No network at all, or outbound access (only where an administrator allows it).
Network = Literal["none", "egress"]


class EventStatus(enum.StrEnum):
    """Only active events fire on their schedule; every status but archived can be run by hand."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class EventKind(enum.StrEnum):
    """A script run in a sandbox, an HTTP request made by the worker, one tool action (a
    message sent through one of the owner's tools), or a workflow of events."""

    SCRIPT = "script"
    HTTP = "http"
    TOOL = "tool"
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
    """What one sandboxed run may use. Its fields are event settings."""

    timeout_seconds: float = setting(
        TIMEOUT_DEFAULT,
        ge=TIMEOUT_MIN,
        le=TIMEOUT_MAX,
        flags=("--timeout",),
        description="Seconds.",
    )
    cpus: float = setting(CPUS_DEFAULT, ge=CPUS_MIN, le=CPUS_MAX, description="CPU cores.")
    memory_mb: int = setting(
        MEMORY_MB_DEFAULT,
        ge=MEMORY_MB_MIN,
        le=MEMORY_MB_MAX,
        flags=("--memory",),
        description="MiB.",
    )
    pids: int = setting(PIDS_DEFAULT, ge=PIDS_MIN, le=PIDS_MAX, description="Processes.")


def _check_script(script: str) -> str:
    if not script.strip():
        raise ValueError("the script is empty: give the code to run")
    return script


def _check_env(env: dict[str, str]) -> dict[str, str]:
    for name in env:
        if not re.match(ENV_NAME_PATTERN, name):
            raise ValueError(
                f"{name!r} is not a valid environment variable name: use letters, digits and _, "
                "not starting with a digit"
            )
        if name.upper().startswith(RESERVED_ENV_PREFIX):
            raise ValueError(f"{name!r}: names starting with CRONIUM_ are reserved for Cronium")
    return env


def _check_secrets(secrets: dict[str, SecretMode]) -> dict[str, SecretMode]:
    for key, mode in secrets.items():
        if not KEY_PATTERN.fullmatch(key):
            raise ValueError(
                f"{key[:200]!r} is not a secret's key: use 1 to 128 letters, digits, '_', '.' or "
                "'-', starting with a letter, a digit or '_'"
            )
        if mode == "env":
            try:
                _check_env({key: ""})
            except ValueError as exc:
                message = f"secret {key!r} cannot be mapped to the environment: {exc}"
                raise ValueError(message) from None
    return secrets


def _check_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(tags)) != len(tags):
        raise ValueError("a tag is given twice: give each tag once")
    return tags


def _enum(kind: type[enum.StrEnum]) -> Codec:
    return Codec(str, kind)


GRAPH = Codec(Graph.to_json, Graph.from_json)
REQUEST = Codec(HttpRequest.to_json, HttpRequest.from_json)
SCHEDULE = Codec(schedule_to_json, schedule_from_json)
ACTIONS = Codec(
    lambda actions: [action.to_json() for action in actions],
    lambda stored: tuple(Action.from_json(action) for action in stored),
)
TOOL_CALL = Codec(ToolCall.to_json, ToolCall.from_json)
TAGS = Codec(list, tuple)


@dataclass(frozen=True, slots=True)
class EventSettings:
    """Everything a user sets on an event: the one declaration of its settings.

    The API's bodies, the database's columns, versions (which settings make a new one),
    workflow documents and the CLI all derive from these fields (see ``domain/settings.py``);
    a new setting is a new field here, a column and a migration.
    """

    name: str = setting(
        documents="both",
        strip=True,
        min_length=1,
        max_length=NAME_MAX,
        description="Unique among the owner's events.",
    )
    description: str = setting(
        "", documents="both", max_length=DESCRIPTION_MAX, description="What the event is for."
    )
    tags: tuple[str, ...] = setting(
        (),
        documents="both",
        codec=TAGS,
        check=_check_tags,
        max_length=TAGS_MAX,
        item_max_length=TAG_MAX,
        item_pattern=TAG_PATTERN,
        description=f"Short labels to find events by (at most {TAGS_MAX}).",
    )
    kind: EventKind = setting(
        EventKind.SCRIPT,
        updatable=False,
        documents="none",
        codec=_enum(EventKind),
        description="Implied by script, http, tool_action or workflow.",
    )
    language: Language | None = setting(None, codec=_enum(Language))
    script: str = setting("", check=_check_script, max_length=SCRIPT_MAX_BYTES)
    http: HttpRequest | None = setting(None, codec=REQUEST)
    tool_action: ToolCall | None = setting(
        None, codec=TOOL_CALL, description="A tool event's one action: tool, action, params."
    )
    workflow: Graph | None = setting(None, documents="none", codec=GRAPH)
    env: dict[str, str] = setting({}, check=_check_env)
    secrets: dict[str, SecretMode] = setting(
        {},
        check=_check_secrets,
        max_length=SECRETS_MAX,
        flags=("--secret",),
        item_default="file",
        description=(
            "Which of the owner's secrets the sandbox gets: KEY=file (/run/secrets/KEY, the"
            f" default) or KEY=env (the environment variable KEY); at most {SECRETS_MAX}."
        ),
    )
    limits: ResourceLimits = group(ResourceLimits)
    global_helpers: bool = setting(
        False,
        flags=("--global-helpers",),
        description="Python and Node scripts find the helpers as a global `cronium`, unimported.",
    )
    network: Network = setting("none", description="none, or egress where the server allows it.")
    max_attempts: int = setting(
        1,
        documents="both",
        ge=1,
        le=100,
        description="Attempts in all; a lost worker's run is retried.",
    )
    retry_backoff_seconds: float = setting(
        10.0, ge=0, le=86400, description="Wait before the 2nd attempt; doubled after."
    )
    retry_backoff_max_seconds: float = setting(3600.0, ge=0, le=7 * 86400)
    pool: str | None = setting(
        None,
        clearable=True,
        pattern=POOL_PATTERN,
        description="Only workers with this tag run the event (CRONIUM_WORKER_TAGS).",
    )
    status: EventStatus = setting(
        EventStatus.ACTIVE, versioned=False, documents="none", codec=_enum(EventStatus)
    )
    schedule: Schedule | None = setting(None, clearable=True, documents="both", codec=SCHEDULE)
    policy: SchedulePolicy = group(SchedulePolicy)
    actions: tuple[Action, ...] = setting((), documents="none", codec=ACTIONS, max_length=20)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(EventSettings):
    """An event, as stored: its settings, and what Cronium keeps about it."""

    id: int
    owner_id: int
    fire_count: int = 0
    schedule_cursor: datetime | None = None  # the scheduler has handled every fire up to here
    has_webhook: bool = False
    version: int = 1  # grows with each change of the script or settings
    created_at: datetime
    updated_at: datetime
    paused_reason: str | None = None  # why the scheduler set the event aside, if it did
