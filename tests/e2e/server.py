"""Starting a real ``cronium server`` process for end-to-end tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from tests.backends import missing
from tests.factories import event_body
from tests.polling import until_sync
from tests.postgres import free_port

TOKEN = re.compile(r"CRONIUM_TOKEN=(crn_\S+)")
# A PostgreSQL deployment must be given its key: every process of a test's fleet shares this one.
FLEET_KEY = "q4b5ZQ3iYQ7d2yTpV6cX0n8sLwA1rKfE9uHjGmNtBzo="


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    url: str
    token: str | None
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.reader is not None:
            self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_server(
    data_dir: Path, extra_env: dict[str, str], timeout: float = 30, role: str = "server"
) -> RunningServer:
    """Start the server (or another role that serves the API) on a free port; wait until it is
    ready; read the admin token it prints."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")},
        "CRONIUM_DATA_DIR": str(data_dir),
        "CRONIUM_PORT": str(port),
        "CRONIUM_WORKER_POLL_INTERVAL": "0.2",
        **extra_env,
    }
    if env.get("CRONIUM_DATABASE_URL", "").startswith("postgres") and not (
        "CRONIUM_SECRET_KEY" in env or "CRONIUM_SECRET_KEY_FILE" in env
    ):
        env["CRONIUM_SECRET_KEY"] = FLEET_KEY
    process = subprocess.Popen(
        [sys.executable, "-m", "cronium", role],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = RunningServer(process, f"http://127.0.0.1:{port}", None)
    server.reader = threading.Thread(target=_collect, args=(server,), daemon=True)
    server.reader.start()

    def ready() -> bool:
        if process.poll() is not None:
            raise ServerExitedError
        return _ready(server.url)

    try:
        until_sync(ready, timeout, "the server becoming ready", interval=0.1)
    except ServerExitedError:
        server.stop()
        raise RuntimeError("the server exited:\n" + "".join(server.output)) from None
    except AssertionError:
        server.stop()
        raise RuntimeError("the server did not become ready:\n" + "".join(server.output)) from None
    return server


class ServerExitedError(Exception):
    """The server process ended while the test waited for it."""


def _collect(server: RunningServer) -> None:
    assert server.process.stdout is not None
    for line in server.process.stdout:
        server.output.append(line)
        if server.token is None and (match := TOKEN.search(line)):
            server.token = match.group(1)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def create_event(client: httpx.Client, **changes: Any) -> dict[str, Any]:
    """An event made over REST from ``event_body(**changes)``; its JSON."""
    response = client.post("/api/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def run_event(client: httpx.Client, event_id: int, **body: Any) -> int:
    """Queue a run of the event over REST (``input=...``); the execution's id."""
    response = client.post(f"/api/v1/events/{event_id}/run", json=body)
    assert response.status_code == 202, response.text
    return int(response.json()["execution_id"])


def wait_for_end(client: httpx.Client, execution_id: int, timeout: float = 30) -> dict[str, Any]:
    """The execution's JSON once it has ended."""

    def ended() -> dict[str, Any] | None:
        execution: dict[str, Any] = client.get(f"/api/v1/executions/{execution_id}").json()
        return execution if execution["status"] not in ("queued", "running") else None

    return until_sync(ended, timeout, f"execution {execution_id} ending")


def start_role(database_url: str, role: str, **env: str) -> subprocess.Popen[bytes]:
    """A ``cronium ROLE`` process on ``database_url``, quiet, with a small fleet's settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "cronium", role],
        env={
            **environment,
            "CRONIUM_DATABASE_URL": database_url,
            "CRONIUM_WORKER_CONCURRENCY": "4",
            "CRONIUM_WORKER_POLL_INTERVAL": "0.5",
            "CRONIUM_LOG_LEVEL": "warning",
            "CRONIUM_SECRET_KEY": FLEET_KEY,
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """Kill what still runs of ``processes`` and reap them all."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def default_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """A server on its defaults (SQLite, the native sandbox) while the caller iterates; fails
    (or skips, outside strict mode) where the native sandbox cannot run."""
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    running = start_server(data_dir, env or {})
    yield running
    running.stop()


def cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``cronium ARGS`` against ``server``, its output captured (tables not wrapped)."""
    env = {**os.environ, "CRONIUM_URL": server.url, "CRONIUM_TOKEN": server.token or ""}
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
