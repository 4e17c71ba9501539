"""Starting a real ``cronium server`` process for end-to-end tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.postgres import free_port

TOKEN = re.compile(r"CRONIUM_TOKEN=(crn_\S+)")


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError("the server exited:\n" + "".join(server.output))
        if _ready(server.url):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("the server did not become ready:\n" + "".join(server.output))


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
