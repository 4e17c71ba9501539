"""The worker's runners, one per kind of event, all with one interface and one result.

A :class:`Runner` turns a claimed execution into what to run (``prepare``; a CroniumError if
policy forbids it) and runs it like a sandbox backend does (``run(job, on_output, cancel) ->
SandboxResult``). Scripts run in sandboxes (:class:`ScriptRunner`), HTTP requests are made by
the worker itself (:class:`~cronium.actions.http.HttpRunner`), and so are tool events'
messages (:class:`~cronium.actions.tool_event.ToolRunner`); :func:`runners_for` is the
table the worker picks from by the event's kind.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from cronium.actions.http import HttpRunner
from cronium.actions.tool_event import ToolRunner
from cronium.delivery import Sender
from cronium.domain.event import Event, EventKind
from cronium.domain.execution import Execution
from cronium.errors import NotFoundError, PermissionDeniedError
from cronium.runtime.registry import ActiveExecution
from cronium.runtime.server import SANDBOX_URL, RuntimeServer
from cronium.sandbox.spec import OutputSink, SandboxBackend, SandboxResult, SandboxSpec
from cronium.service import Clock
from cronium.settings import WorkerSettings

Job = TypeVar("Job")


class Runner(Protocol[Job]):
    """Runs the events of one kind for the worker."""

    def prepare(
        self, execution: Execution, event: Event, secrets: Mapping[str, str] | None = None
    ) -> Job:
        """What to run for a claimed execution, given the values of its owner's secrets by key;
        a CroniumError if policy forbids it or it cannot run."""
        ...

    async def run(
        self, job: Job, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        """Run ``job`` to its end, passing each output line to ``on_output``; it ends early
        when ``cancel`` is set. SandboxError only for failures of the runner itself
        (SandboxStartError: it could not even start)."""
        ...


class ScriptRunner:
    """Runs script events in sandboxes of ``backend``, each with a host uid of its own; with a
    runtime API, each run is admitted to it."""

    def __init__(
        self,
        backend: SandboxBackend,
        settings: WorkerSettings,
        *,
        runtime: RuntimeServer | None,
        worker_id: str,
        clock: Clock,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.runtime = runtime
        self.worker_id = worker_id
        self.clock = clock

    def prepare(
        self, execution: Execution, event: Event, secrets: Mapping[str, str] | None = None
    ) -> SandboxSpec:
        """The sandbox spec of a claimed execution, with the secrets its event maps taken from
        ``secrets`` (its owner's, by key); PermissionDeniedError if the egress policy forbids
        its network, NotFoundError if a mapped secret is gone.

        With a runtime API, the execution is admitted to it: its token goes into the sandbox as
        a file (never the environment) and the API's socket too; once the backend gives the
        run its host uid (see ``run``), only callers of that uid may use the token.
        """
        refusal = self.settings.egress.network_refusal(event.network)
        if refusal is not None:
            raise PermissionDeniedError(refusal)
        language = event.language
        assert language is not None, "a script event has a language"
        files, secret_env = mapped_secrets(event, secrets or {})
        env = {**event.env, "CRONIUM_EVENT_ID": str(event.id)}
        token = None
        if self.runtime is not None:
            token = self.runtime.admit(
                ActiveExecution(
                    execution_id=execution.id,
                    event_id=event.id,
                    event_name=event.name,
                    language=language.value,
                    owner_id=event.owner_id,
                    attempt=execution.attempt,
                    trigger=execution.trigger,
                    scheduled_at=execution.scheduled_at,
                    input=execution.input,
                    worker_id=self.worker_id,
                ),
                now=self.clock(),
                timeout=event.limits.timeout_seconds,
            )
            env |= {"CRONIUM_RUNTIME_API": SANDBOX_URL}
        return SandboxSpec(
            execution_id=execution.id,
            language=language,
            script=event.script,
            env=env,
            token=token,
            runtime_socket=None if self.runtime is None else self.runtime.socket_path,
            input=execution.input,
            limits=event.limits,
            network=event.network,
            output_cap_bytes=self.settings.output_cap_bytes,
            output_max_lines=self.settings.output_max_lines,
            secret_files=files,
            secret_env=secret_env,
            global_helpers=event.global_helpers,
        )

    async def run(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        """The backend's run of ``spec`` as a host uid of the run's own (bound to its token)."""
        with self.backend.ids_for(spec.execution_id) as ids:
            if self.runtime is not None:
                self.runtime.bind_uid(spec.execution_id, ids.uid)
            own = dataclasses.replace(spec, uid=ids.uid, gid=ids.gid)
            return await self.backend.run(own, on_output, cancel)


def mapped_secrets(
    event: Event, secrets: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The values of the secrets ``event`` maps: (to files, to the environment), by key;
    NotFoundError naming those its owner no longer has (deleted or expired since)."""
    missing = sorted(key for key in event.secrets if key not in secrets)
    if missing:
        raise NotFoundError(
            f"the event maps the secret(s) {', '.join(map(repr, missing))}, which its owner no"
            " longer has (deleted or expired): create them again, or take them out of the"
            " event's secrets"
        )
    files = {key: secrets[key] for key, how in event.secrets.items() if how == "file"}
    env = {key: secrets[key] for key, how in event.secrets.items() if how == "env"}
    return files, env


def runners_for(
    backend: SandboxBackend,
    settings: WorkerSettings,
    *,
    runtime: RuntimeServer | None,
    worker_id: str,
    clock: Clock,
    sender: Sender,
) -> Mapping[EventKind, Runner[Any]]:
    """The runner of each kind of event a worker is handed (a workflow run is started by the
    store, never handed out: its nodes are events of these kinds)."""
    return {
        EventKind.SCRIPT: ScriptRunner(
            backend, settings, runtime=runtime, worker_id=worker_id, clock=clock
        ),
        EventKind.HTTP: HttpRunner(
            max_body=settings.http_max_body, egress=settings.egress, clock=clock
        ),
        EventKind.TOOL: ToolRunner(sender, clock),
    }
