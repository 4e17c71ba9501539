"""The sandbox seam: what to run (:class:`SandboxSpec`), what came of it (:class:`SandboxResult`),
and the interface every backend implements (:class:`SandboxBackend`)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cronium.domain.event import Language, Network, ResourceLimits
from cronium.sandbox.host import RunIds, StateDir, UidRange, UidSlots

Stream = Literal["stdout", "stderr"]

SANDBOX_UID = 1000  # the script's uid and gid inside the sandbox
SANDBOX_GID = 1000
DEFAULT_OUTPUT_CAP = 10 * 1024 * 1024
DEFAULT_OUTPUT_LINES = 100_000
DEFAULT_GRACE_SECONDS = 1.0
# Where the runtime helpers are in every sandbox, and where its runtime API socket is.
HELPERS_DIR = "/opt/cronium"
RUNTIME_SOCKET = "/run/cronium/runtime.sock"
TOKEN_FILE = "/run/cronium/token"  # the run's runtime API token: a file, never the environment
SECRETS_DIR = "/run/secrets"  # an event's file-mapped secrets: SECRETS_DIR/KEY, mode 0400
SCRIPT_NAMES = {
    Language.BASH: "script.sh",
    Language.PYTHON: "script.py",
    Language.NODE: "script.js",
}
ES_MODULE_NAME = "script.mjs"
# A Node script with an import or export statement (at the start of a line) or import.meta is an
# ES module: Node 18 reads a .js file as CommonJS only, so it is run as script.mjs. import(...)
# is allowed in CommonJS too and does not count.
ES_MODULE_SYNTAX = re.compile(
    r"""^[ \t]*(?:import(?:[ \t]+[\w{*$]|[ \t]*[{*"'])|export(?:[ \t]+[\w{*$]|[ \t]*[{*]))"""
    r"|\bimport\.meta\b",
    re.M,
)
# Where the Bash helpers are too, for scripts written to source them (Cronium's documented
# `source /usr/local/bin/cronium.sh`), and the directory that ES modules, which do not read
# NODE_PATH, find `cronium` in from anywhere (they look in each parent's node_modules).
BASH_HELPERS_LINK = "/usr/local/bin/cronium.sh"
NODE_MODULES = "/node_modules"


def helper_environment(helpers: str, global_helpers: bool) -> dict[str, str]:
    """The variables that point a script at the helpers under ``helpers``. With
    ``global_helpers``, ``cronium`` is a global of Python and Node scripts, no import needed
    (Python imports a usercustomize from one more directory, Node preloads global.js); without
    it, nothing of that is loaded."""
    environment = {
        "PYTHONPATH": f"{helpers}/python",
        "NODE_PATH": f"{helpers}/node",
        "BASH_ENV": f"{helpers}/bash/cronium.sh",
    }
    if global_helpers:
        environment["PYTHONPATH"] += f":{helpers}/python/global"
        preload = json.dumps(f"{helpers}/node/cronium/global.js")  # quoted as NODE_OPTIONS reads
        environment["NODE_OPTIONS"] = f"--require {preload}"
    return environment


def passwd_of(uid: int, gid: int) -> str:
    """The sandbox's /etc/passwd: root, the user ``cronium`` with ``uid``, nobody."""
    return (
        "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
        f"cronium:x:{uid}:{gid}:Cronium sandbox:/workspace:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )


def group_of(gid: int) -> str:
    return f"root:x:0:\ncronium:x:{gid}:\nnogroup:x:65534:\n"


@dataclass(frozen=True, slots=True)
class OutputLine:
    """One line a script wrote (without its newline), as it arrived; ``continued``: a piece of
    a line too long to keep whole, whose next piece follows on the same stream."""

    stream: Stream
    at: datetime
    text: str
    continued: bool = False


OutputSink = Callable[[OutputLine], None]


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """Everything a backend needs to run one script, whatever the backend."""

    execution_id: int
    language: Language
    script: str
    input: Any = None
    env: dict[str, str] = field(default_factory=dict)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    network: Network = "none"
    # the run's own uid and gid on the host; None: the backend gives it one for the run
    uid: int | None = None
    gid: int | None = None
    token: str | None = None
    output_cap_bytes: int = DEFAULT_OUTPUT_CAP
    output_max_lines: int = DEFAULT_OUTPUT_LINES
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    runtime_socket: Path | None = None
    # the event's secrets by key: files of SECRETS_DIR, and environment variables (never shown)
    secret_files: dict[str, str] = field(default_factory=dict, repr=False)
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)
    # `cronium` as a global of Python and Node scripts, with no import (the event's setting)
    global_helpers: bool = False

    @property
    def script_name(self) -> str:
        """The script's file name in the sandbox: a Node ES module's ends in .mjs."""
        if self.language is Language.NODE and ES_MODULE_SYNTAX.search(self.script):
            return ES_MODULE_NAME
        return SCRIPT_NAMES[self.language]

    def environment(self, helpers: str = HELPERS_DIR) -> dict[str, str]:
        """The script's whole environment: a minimal base, the helpers (under ``helpers``),
        the event's variables and environment-mapped secrets, CRONIUM_*."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": "/workspace",
            "TMPDIR": "/tmp",
            "USER": "cronium",
            **helper_environment(helpers, self.global_helpers),
            **self.env,
            **self.secret_env,
            **({"CRONIUM_EXECUTION_TOKEN_FILE": TOKEN_FILE} if self.token is not None else {}),
            **({"CRONIUM_SECRETS_DIR": SECRETS_DIR} if self.secret_files else {}),
            "CRONIUM_EXECUTION_ID": str(self.execution_id),
        }


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """How a run ended. A non-zero exit code is a result, not an error.

    A run with no process (an HTTP request, see cronium.actions.http) has no exit code, setup
    or cleanup: it says itself whether it ``succeeded``, why not (``error``), and what it
    produced (``output``, the execution's output unless the run handed over its own)."""

    exit_code: int | None
    signal: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    oom_killed: bool = False
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None
    setup_seconds: float | None = 0.0
    run_seconds: float = 0.0
    cleanup_seconds: float | None = 0.0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    succeeded: bool | None = None  # None: the exit code says
    error: str | None = None
    output: Any = None


class SandboxBackend(abc.ABC):
    """Runs scripts in sandboxes. One instance serves many concurrent runs."""

    name: str

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`~cronium.errors.SandboxUnavailableError` if this machine cannot run it."""

    def remove_leftovers(self) -> list[str]:
        """Remove sandboxes left by processes of this host that are gone; their names.

        What a process makes is named by its key (its pid and the time it started, see
        ``process_key``), so a process that was given a dead worker's pid since is not taken
        for it, and its own sandboxes (a ``cronium run`` of its own, say) are left alone."""
        return []

    @contextlib.contextmanager
    def ids_for(self, execution_id: int) -> Iterator[RunIds]:
        """The host uid and gid of a run, its own for the time of the block (by default the
        worker's: a backend without isolation runs scripts as the worker)."""
        yield RunIds(os.geteuid(), os.getegid())

    @contextlib.contextmanager
    def with_ids(self, spec: SandboxSpec) -> Iterator[SandboxSpec]:
        """``spec`` with the run's host ids: the ones given, or ones held for the block."""
        if spec.uid is not None and spec.gid is not None:
            yield spec
            return
        with self.ids_for(spec.execution_id) as ids:
            yield dataclasses.replace(spec, uid=ids.uid, gid=ids.gid)

    def close(self) -> None:  # noqa: B027 (optional: most backends prepare nothing)
        """The worker stops: remove what the backend prepared for its runs (none run now)."""

    @abc.abstractmethod
    async def run(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        """Run ``spec`` to its end, passing each output line to ``on_output`` as it comes.

        Ends the sandbox when the timeout passes or ``cancel`` is set (SIGTERM, a grace period,
        then SIGKILL) and leaves nothing behind. Raises
        :class:`~cronium.errors.SandboxError` only for failures of the sandbox itself.
        """


class IsolatedBackend(SandboxBackend):
    """A backend whose runs each get a host uid of their own and keep their state in the
    host's private state directory (see cronium.sandbox.host)."""

    def __init__(self, state: StateDir | None = None, uids: UidRange | None = None) -> None:
        self.uids = uids or UidRange()
        self.state = state or StateDir(group=self.uids.group)
        self._slots: UidSlots | None = None

    def prepare_host(self) -> None:
        """Check the uid range and the state directory (at the backend's check)."""
        self.uids.check()
        self._slots = UidSlots(self.uids, self.state.private("uids"))

    @contextlib.contextmanager
    def ids_for(self, execution_id: int) -> Iterator[RunIds]:
        """A uid and gid of the range that no other run of this host has now."""
        self.check()
        assert self._slots is not None, "check() prepares the host"
        with self._slots.claim(execution_id) as ids:
            yield ids
