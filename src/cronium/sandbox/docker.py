"""``docker``: each script in a fresh container of a Cronium runner image (Docker SDK).

The container gets the same promises as a native sandbox: the run's own uid (named cronium by
the run's own /etc/passwd), every capability dropped, no-new-privileges and Cronium's seccomp
policy (the native filter's, as a Docker profile), a read-only root with tmpfs ``/tmp``
(100 MB) and ``/workspace`` (500 MB), no network (``none``), memory without swap, a CPU quota
and a process limit. The script and its input reach it as a read-only bind mount at
``/run/cronium``, which is why the Docker daemon must run on the worker's host. Output is
attached before start and never stored by Docker (log driver ``none``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.types import LogConfig
from docker.utils.socket import STDERR, STDOUT, frames_iter

from cronium.domain.event import Language
from cronium.errors import SandboxStartError, SandboxUnavailableError
from cronium.images import runner_image
from cronium.sandbox import cgroups
from cronium.sandbox.host import StateDir, UidRange
from cronium.sandbox.output import LineCollector, collectors_of
from cronium.sandbox.process import owner_gone, process_key
from cronium.sandbox.seccomp import docker_profile
from cronium.sandbox.spec import (
    RUNTIME_SOCKET,
    SECRETS_DIR,
    TOKEN_FILE,
    IsolatedBackend,
    OutputSink,
    SandboxResult,
    SandboxSpec,
    group_of,
    passwd_of,
)

INTERPRETERS = {Language.BASH: "bash", Language.PYTHON: "python3", Language.NODE: "node"}
OWNER_LABEL = "cronium.owner"
EXECUTION_LABEL = "cronium.execution"
# Frames read from a container but not yet taken by the event loop, at most: past that the
# reading thread waits, Docker's socket fills, and the script blocks on its writes.
PUMP_IN_FLIGHT = 64


def owner_id(pid: int | None = None) -> str:
    """``host:<process key>``: the process that made a container, on which host."""
    return f"{socket.gethostname()}:{process_key(pid)}"


def container_options(spec: SandboxSpec, bundle: Path, cgroup_parent: str | None) -> dict[str, Any]:
    """Keyword arguments of ``containers.create`` for ``spec`` (pure: tested without Docker)."""
    memory = f"{spec.limits.memory_mb}m"
    options: dict[str, Any] = {
        "image": runner_image(spec.language),
        "command": [INTERPRETERS[spec.language], f"/run/cronium/{spec.script_name}"],
        "user": f"{spec.uid}:{spec.gid}",
        "working_dir": "/workspace",
        "environment": spec.environment(),
        "hostname": "sandbox",
        "network_mode": "bridge" if spec.network == "egress" else "none",
        "read_only": True,
        "tmpfs": {
            "/tmp": "rw,nosuid,nodev,size=100m,mode=1777",
            "/workspace": f"rw,nosuid,nodev,size=500m,mode=0755,uid={spec.uid},gid={spec.gid}",
        },
        "volumes": {
            str(bundle / "run"): {"bind": "/run/cronium", "mode": "ro"},
            # the run's own uid is the user cronium in the container
            str(bundle / "passwd"): {"bind": "/etc/passwd", "mode": "ro"},
            str(bundle / "group"): {"bind": "/etc/group", "mode": "ro"},
            **(
                {str(spec.runtime_socket): {"bind": RUNTIME_SOCKET, "mode": "ro"}}
                if spec.runtime_socket is not None
                else {}
            ),
            **(
                {str(bundle / "secrets"): {"bind": SECRETS_DIR, "mode": "ro"}}
                if spec.secret_files
                else {}
            ),
        },
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int(spec.limits.cpus * 1e9),
        "pids_limit": spec.limits.pids,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges", f"seccomp={docker_profile()}"],
        "stdin_open": False,
        "tty": False,
        "log_config": LogConfig(type="none"),
        "labels": {OWNER_LABEL: owner_id(), EXECUTION_LABEL: str(spec.execution_id)},
    }
    if cgroup_parent is not None:
        options["cgroup_parent"] = cgroup_parent
    return options


@dataclass
class _Ending:
    kind: str  # "exited", "timeout" or "cancel"


class DockerBackend(IsolatedBackend):
    """Runs each script in its own container; needs a Docker daemon on this host."""

    name = "docker"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        state: StateDir | None = None,
        uids: UidRange | None = None,
    ) -> None:
        super().__init__(state, uids)
        self._client = client
        self._counter = itertools.count(1)
        self._tree: cgroups.CgroupTree | None = None
        self._stats_in_cgroups = False
        self._checked = False

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = docker.from_env(timeout=60)
            except docker.errors.DockerException as exc:
                raise SandboxUnavailableError(_daemon_hint(exc)) from exc
        return self._client

    def check(self) -> None:
        """The daemon answers and the three runner images are there."""
        if self._checked:
            return
        try:
            info = self.client.info()
            missing = [image for image in map(runner_image, Language) if not self._has(image)]
        except docker.errors.DockerException as exc:
            raise SandboxUnavailableError(_daemon_hint(exc)) from exc
        if missing:
            raise SandboxUnavailableError(
                f"the runner images {', '.join(missing)} are missing: run `cronium images build`"
            )
        self.prepare_host()
        self._prepare_stats(info)
        self._checked = True

    def _has(self, image: str) -> bool:
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        return True

    def _prepare_stats(self, info: dict[str, Any]) -> None:
        # Peak memory and CPU time come from a cgroup of ours that holds the container's:
        # possible when the daemon uses plain cgroup directories and we may create them.
        if info.get("CgroupDriver") != "cgroupfs" or os.geteuid() != 0:
            return
        with contextlib.suppress(SandboxUnavailableError, OSError):
            self._tree = cgroups.detect()
            self._tree.prepare()
            self._stats_in_cgroups = True

    def remove_leftovers(self) -> list[str]:
        """Remove containers (and their bundles) of workers of this host that are gone."""
        removed = []
        host = socket.gethostname()
        for container in self.client.containers.list(all=True, filters={"label": OWNER_LABEL}):
            owner = container.labels.get(OWNER_LABEL, "")
            owner_host, _, key = owner.rpartition(":")
            if owner_host == host and owner_gone(key):
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)
                removed.append(container.name or container.id or "")
        for bundle in self.state.private("docker").iterdir():
            if owner_gone(bundle.name.split("-")[0]):
                shutil.rmtree(bundle, ignore_errors=True)
        return removed

    async def run(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        await asyncio.to_thread(self.check)
        with self.with_ids(spec) as own:
            return await self._run_as(own, on_output, cancel)

    async def _run_as(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None
    ) -> SandboxResult:
        started = time.monotonic()
        name = f"{process_key()}-{spec.execution_id}-{next(self._counter)}"
        try:
            bundle = _write_bundle(self.state.private("docker") / name, spec)
        except OSError as exc:
            raise SandboxStartError(f"cannot write the script for the container: {exc}") from exc
        cgroup = (
            self._tree.create(f"docker-{name}") if self._stats_in_cgroups and self._tree else None
        )
        container: Container | None = None
        try:
            parent = f"/{cgroups.BASE}/{cgroup.name}" if cgroup is not None else None
            container = await asyncio.to_thread(
                self._create, f"cronium-{name}", container_options(spec, bundle, parent)
            )
            result = await self._supervise(container, spec, on_output, cancel, started, cgroup)
        finally:
            cleanup_started = time.monotonic()
            await asyncio.to_thread(self._remove, container, bundle, cgroup)
        return dataclasses.replace(result, cleanup_seconds=time.monotonic() - cleanup_started)

    def _create(self, name: str, options: dict[str, Any]) -> Container:
        try:
            return self.client.containers.create(name=name, **options)
        except docker.errors.ImageNotFound as exc:
            raise SandboxStartError(
                f"{options['image']} is missing: run `cronium images build`"
            ) from exc
        except docker.errors.DockerException as exc:
            raise SandboxStartError(
                f"docker could not create the container: {_reason(exc)}"
            ) from exc

    async def _supervise(
        self,
        container: Container,
        spec: SandboxSpec,
        on_output: OutputSink,
        cancel: asyncio.Event | None,
        started: float,
        cgroup: cgroups.Cgroup | None,
    ) -> SandboxResult:
        loop = asyncio.get_running_loop()
        stdout, stderr = collectors_of(spec, on_output)
        try:
            attached = await asyncio.to_thread(
                self.client.api.attach_socket,
                container.id or "",
                {"stdout": 1, "stderr": 1, "stream": 1},
            )
        except docker.errors.DockerException as exc:
            raise SandboxStartError(f"docker could not attach the output: {_reason(exc)}") from exc
        pump_done = asyncio.Event()
        threading.Thread(
            target=_pump, args=(attached, stdout, stderr, loop, pump_done), daemon=True
        ).start()
        try:
            await asyncio.to_thread(container.start)
        except docker.errors.DockerException as exc:
            _close_attached(attached)
            raise SandboxStartError(
                f"docker could not start the container: {_reason(exc)}"
            ) from exc
        setup_done = time.monotonic()
        ending = await self._wait(container, spec, cancel)
        await pump_done.wait()
        run_done = time.monotonic()
        state = await asyncio.to_thread(_state, container)
        stats = cgroup.stats() if cgroup is not None else None
        code = int(state.get("ExitCode", -1))
        killed = ending.kind != "exited" or bool(state.get("OOMKilled"))
        signal_number = code - 128 if killed and code > 128 else None
        return SandboxResult(
            exit_code=None if signal_number is not None else code,
            signal=signal_number,
            timed_out=ending.kind == "timeout",
            cancelled=ending.kind == "cancel",
            oom_killed=bool(state.get("OOMKilled")),
            peak_memory_bytes=stats.peak_memory_bytes if stats else None,
            cpu_seconds=stats.cpu_seconds if stats else None,
            setup_seconds=setup_done - started,
            run_seconds=run_done - setup_done,
            stdout_truncated=stdout.truncated,
            stderr_truncated=stderr.truncated,
        )

    async def _wait(
        self, container: Container, spec: SandboxSpec, cancel: asyncio.Event | None
    ) -> _Ending:
        exited = asyncio.ensure_future(asyncio.to_thread(container.wait))
        waiters: set[asyncio.Future[Any]] = {exited}
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        if cancelled is not None:
            waiters.add(cancelled)
        try:
            await asyncio.wait(
                waiters, timeout=spec.limits.timeout_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if cancelled is not None:
                cancelled.cancel()
        if exited.done():
            return _Ending("exited")
        ending = _Ending("cancel" if cancel is not None and cancel.is_set() else "timeout")
        await asyncio.to_thread(_kill, container, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout=spec.grace_seconds)
        except TimeoutError:
            await asyncio.to_thread(_kill, container, signal.SIGKILL)
            await exited
        return ending

    def _remove(
        self, container: Container | None, bundle: Path, cgroup: cgroups.Cgroup | None
    ) -> None:
        if container is not None:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        shutil.rmtree(bundle, ignore_errors=True)
        if cgroup is not None:
            cgroup.remove()


def _write_bundle(bundle: Path, spec: SandboxSpec) -> Path:
    """The run's files, in the state directory's private part (the daemon binds them):
    ``run/`` becomes ``/run/cronium``, ``passwd`` and ``group`` the container's."""
    assert spec.uid is not None
    assert spec.gid is not None
    bundle.mkdir(mode=0o700)
    run = bundle / "run"
    run.mkdir(mode=0o755)
    run.chmod(0o755)

    def write(path: Path, content: str, mode: int = 0o644) -> None:
        path.write_text(content, encoding="utf-8")
        path.chmod(mode)

    write(run / spec.script_name, spec.script)
    if spec.runtime_socket is not None:
        # The mount point of the socket, in a directory that is read-only inside the container.
        write(run / Path(RUNTIME_SOCKET).name, "")
    if spec.input is not None:
        write(run / "input.json", json.dumps(spec.input))
    if spec.token is not None:
        write(run / Path(TOKEN_FILE).name, spec.token, 0o400)
        os.chown(run / Path(TOKEN_FILE).name, spec.uid, spec.gid)
    _write_secrets(bundle / "secrets", spec)
    write(bundle / "passwd", passwd_of(spec.uid, spec.gid))
    write(bundle / "group", group_of(spec.gid))
    bundle.chmod(0o755)  # the daemon may run its own user namespace: let it through
    return bundle


def _write_secrets(directory: Path, spec: SandboxSpec) -> None:
    """``secrets/`` (``/run/secrets`` in the container): one file per file-mapped secret,
    0400 in a 0500 directory, both the run's uid's. Written in the bundle, which lives in the
    state directory's private part (a tmpfs where it is under /run), removed with it."""
    if not spec.secret_files:
        return
    assert spec.uid is not None
    assert spec.gid is not None
    directory.mkdir(mode=0o700)
    for key, value in spec.secret_files.items():
        path = directory / key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value)
        os.chown(path, spec.uid, spec.gid)
    directory.chmod(0o500)
    os.chown(directory, spec.uid, spec.gid)


class Handoff:
    """Hands calls from a thread to an event loop, at most ``limit`` waiting at a time: the
    thread blocks in :meth:`send` until the loop has caught up, so a fast producer costs
    bounded memory, not one queued callback per chunk."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int = PUMP_IN_FLIGHT) -> None:
        self.loop = loop
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Calls handed over that the loop has not run yet."""
        return self._waiting

    def send(self, call: Callable[[bytes], None], data: bytes) -> bool:
        """Queue ``call(data)`` on the loop once a slot is free; False if the loop is gone."""
        while not self._slots.acquire(timeout=1.0):
            if self.loop.is_closed():
                return False
        with self._lock:
            self._waiting += 1
        try:
            self.loop.call_soon_threadsafe(self._deliver, call, data)
        except RuntimeError:  # the loop closed meanwhile
            self._done()
            return False
        return True

    def _deliver(self, call: Callable[[bytes], None], data: bytes) -> None:
        try:
            call(data)
        finally:
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._waiting -= 1
        self._slots.release()


def _pump(
    attached: Any,
    stdout: LineCollector,
    stderr: LineCollector,
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Event,
) -> None:
    """Read the attached socket's frames into the collectors, from a thread of its own."""
    collectors = {STDOUT: stdout, STDERR: stderr}
    handoff = Handoff(loop)
    try:
        for stream, data in frames_iter(attached, tty=False):  # type: ignore[no-untyped-call]
            if data and stream in collectors and not handoff.send(collectors[stream].feed, data):
                return
    finally:
        _close_attached(attached)
        with contextlib.suppress(RuntimeError):  # the loop is gone: no one waits any more
            loop.call_soon_threadsafe(stdout.finish)
            loop.call_soon_threadsafe(stderr.finish)
            loop.call_soon_threadsafe(done.set)


def _close_attached(attached: Any) -> None:
    # The SDK keeps the HTTP response alive on the socket; close both, response first, so that
    # neither is left to the garbage collector.
    response = getattr(attached, "_response", None)
    with contextlib.suppress(OSError, ValueError):
        if response is not None:
            response.close()
        attached.close()


def _state(container: Container) -> dict[str, Any]:
    container.reload()
    state: dict[str, Any] = container.attrs.get("State", {})
    return state


def _kill(container: Container, signum: signal.Signals) -> None:
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        container.kill(signal=signum.name)


def _reason(exc: docker.errors.DockerException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def _daemon_hint(exc: Exception) -> str:
    return (
        f"the Docker daemon does not answer ({exc}). Install and start it: "
        "apt-get install docker.io, then start dockerd (systemctl start docker, or `dockerd &`)"
    )
