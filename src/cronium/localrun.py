"""``cronium run``'s engine: one script run here the way a worker runs it, runtime API included.

A run here gets what a run on a server gets. A private, temporary SQLite database (migrated,
removed after the run) holds a local user, an event made of the script and its settings and
one execution of it, claimed the way a worker claims one; a :class:`RuntimeServer` serves the
runtime API over that database, and the worker's :class:`ScriptRunner` admits the execution to
it and runs it in a sandbox. So every helper (input, output, variables, condition, context)
answers as it does on a server, from the same code.

Variables come from a JSON file before the run and go back to it after
(:func:`load_variables`, :func:`save_variables`), or live for the run only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cronium.crypto import KEY_BYTES, Keyring
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Event, EventKind, EventSettings, EventStatus
from cronium.domain.execution import Execution
from cronium.domain.user import Role, User
from cronium.domain.variable import KEY_PATTERN
from cronium.errors import InvalidInputError
from cronium.runners import ScriptRunner
from cronium.runtime.app import RuntimeLimits
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.host import StateDir
from cronium.sandbox.spec import OutputSink, SandboxBackend, SandboxResult
from cronium.service import Service, utcnow
from cronium.settings import Settings, WorkerSettings
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate

LOCAL_USER = "local"
LEASE_MARGIN = timedelta(minutes=1)  # the claim's lease outlasts the run's timeout by this


@dataclass(frozen=True, slots=True)
class Trial:
    """What to run here: an event's script and settings, the run's input, and the id of the
    server's event it stands for (the context shows that id), if it is one."""

    event: EventSettings
    input: Any = None
    stands_for: int | None = None


@dataclass(frozen=True, slots=True)
class Ran:
    """How a run here ended: the sandbox's result, what the script handed over through the
    runtime API (its output, as the server would store it, and its condition), and every
    variable as the run left them."""

    result: SandboxResult
    output: Any
    condition: bool | None
    variables: dict[str, Any]


async def run_here(
    trial: Trial,
    backend: SandboxBackend,
    settings: Settings,
    *,
    variables: dict[str, Any],
    on_output: OutputSink,
    cancel: asyncio.Event | None = None,
) -> Ran:
    """Run ``trial`` in a sandbox of ``backend`` with a runtime API of its own, the owner's
    variables being ``variables`` before it; each output line goes to ``on_output``."""
    worker_id = f"cronium-run:{os.getpid()}"
    async with local_runtime(settings) as (store, runtime):
        user = await _local_user(store, variables)
        execution, event = await _claimed_execution(store, user, trial, worker_id)
        runner = ScriptRunner(
            backend, _worker_settings(settings), runtime=runtime, worker_id=worker_id, clock=utcnow
        )
        shown = (
            event if trial.stands_for is None else dataclasses.replace(event, id=trial.stands_for)
        )
        spec = runner.prepare(execution, shown)
        try:
            result = await runner.run(spec, on_output, cancel)
            handed = runtime.results(execution.id)
        finally:
            runtime.dismiss(execution.id)
        return Ran(
            result=result,
            output=handed.output if handed.output_set else result.output,
            condition=handed.condition,
            variables=await store.variables.all(user.id, utcnow()),
        )


@contextlib.asynccontextmanager
async def local_runtime(settings: Settings) -> AsyncIterator[tuple[Store, RuntimeServer]]:
    """A fresh, migrated database in a private temporary directory, and a runtime API served
    over it, for the time of the block; nothing of either is left after it."""
    directory = Path(tempfile.mkdtemp(prefix="cronium-run-"))  # 0700
    try:
        url = f"sqlite+aiosqlite:///{directory / 'cronium.db'}"
        engine = create_engine(url)
        keyring = Keyring(secrets.token_bytes(KEY_BYTES))  # the database goes with the run
        try:
            await migrate(engine)
            runtime = _runtime_server(url, settings, keyring)
            await asyncio.to_thread(runtime.start)
            try:
                yield Store(engine, keyring), runtime
            finally:
                await asyncio.to_thread(runtime.stop)
        finally:
            await engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _runtime_server(database_url: str, settings: Settings, keyring: Keyring) -> RuntimeServer:
    """The runtime API a worker of ``settings`` would serve, over ``database_url``: its socket
    in the state directory the sandboxes bind it from, its limits those of the settings."""
    limits = RuntimeLimits(
        max_payload_bytes=settings.runtime_max_payload,
        calls_per_minute=settings.runtime_rate_limit,
    )
    state = StateDir(settings.state_dir, group=settings.sandbox_uids.group)
    worker = WorkerSettings.from_settings(settings)
    return RuntimeServer(
        database_url,
        limits=limits,
        keyring=keyring,
        state=state,
        max_depth=settings.json_max_depth,
        egress=worker.egress,
        delivery=worker.delivery,
    )


def _worker_settings(settings: Settings) -> WorkerSettings:
    """What the runner takes of a worker's settings: the output caps; and the network the
    user asks for here is theirs to allow."""
    return WorkerSettings(
        output_cap_bytes=settings.output_cap_bytes,
        output_max_lines=settings.output_max_lines,
        egress=EgressPolicy(allow_egress=True),
    )


async def _local_user(store: Store, variables: dict[str, Any]) -> User:
    """The one user of the local database, owning ``variables``."""
    now = utcnow()
    user = await store.users.create(LOCAL_USER, role=Role.ADMIN, now=now)
    for key, value in variables.items():
        await store.variables.put(user.id, key, value, now)
    return user


async def _claimed_execution(
    store: Store, user: User, trial: Trial, worker_id: str
) -> tuple[Execution, Event]:
    """The trial's event, created, run by hand and claimed by ``worker_id`` as a worker claims
    a run."""
    service = Service(store, allow_egress=True)
    event = await service.create_event(user, local_event(trial.event))
    await service.run_event(user, event.id, trial.input)
    lease = timedelta(seconds=trial.event.limits.timeout_seconds) + LEASE_MARGIN
    claimed = await store.queue.claim(worker_id, utcnow(), lease=lease, limit=1)
    assert len(claimed) == 1, "the run just queued is the only one"
    return claimed[0]


def local_event(settings: EventSettings) -> EventSettings:
    """``settings`` without what only a server does with them (schedules, actions, retries,
    pools): one run here is all there is."""
    return dataclasses.replace(
        settings,
        kind=EventKind.SCRIPT,
        status=EventStatus.ACTIVE,
        http=None,
        workflow=None,
        schedule=None,
        actions=(),
        max_attempts=1,
        pool=None,
    )


# variables kept in a file


def load_variables(path: Path) -> dict[str, Any]:
    """The variables kept in ``path``, a JSON object of keys and values; none if the file
    does not exist yet (or is empty). InvalidInputError, saying how to fix it, otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise InvalidInputError(
                f"--variables {path}: the directory {path.parent} does not exist: make it, or "
                "name a file in a directory that does"
            ) from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--variables {path}: cannot read it ({exc})") from exc
    if not text.strip():
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--variables {path} is not valid JSON ({exc}): fix it, or name a new file"
        ) from exc
    if not isinstance(values, dict):
        raise InvalidInputError(
            f'--variables {path} must hold a JSON object of variables, like {{"count": 1}}, '
            f"not {type(values).__name__}"
        )
    bad = [key for key in values if not KEY_PATTERN.fullmatch(key)]
    if bad:
        raise InvalidInputError(
            f"--variables {path}: {bad[0]!r} is not a valid variable key: use 1 to 128 "
            "letters, digits, '_', '.' or '-', starting with a letter, a digit or '_'"
        )
    return values


def save_variables(path: Path, values: dict[str, Any]) -> None:
    """Write ``values`` to ``path`` as a JSON object, atomically (a new file renamed over the
    old one, so a reader never sees half of it) and readable by its owner only (0600)."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(values, file, indent=2, sort_keys=True, ensure_ascii=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
