"""Workflows through a real server and the CLI, including a server killed in the middle of a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from tests.backends import missing
from tests.e2e.server import RunningServer, start_server
from tests.polling import until_sync

DOCUMENT = """
cronium: 1
workflow:
  name: pipeline
  nodes:
    - {name: slow, event: slow-step}
    - {name: times_ten, event: times-ten}
  edges:
    - {source: slow, target: times_ten, kind: on_success}
events:
  - name: slow-step
    language: python
    max_attempts: 2
    retry_backoff_seconds: 0
    script: |
      import time, cronium
      time.sleep(3)
      cronium.output(cronium.input() + 1)
  - name: times-ten
    language: python
    script: |
      import cronium
      cronium.output(cronium.input() * 10)
"""
ENV = {"CRONIUM_WORKER_LEASE": "3"}  # a killed server's run is found lost within seconds


def cli(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRONIUM_URL": url, "CRONIUM_TOKEN": token}
    command = [sys.executable, "-m", "cronium", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def wait_for(client: httpx.Client, path: str, ready: Any, seconds: float = 60) -> Any:
    """The JSON of ``path`` once ``ready`` says yes of it."""

    def answer() -> Any:
        body = client.get(path).json()
        return body if ready(body) else None

    return until_sync(answer, seconds, f"{path} getting ready", interval=0.1)


def first_node_running(client: httpx.Client) -> Any:
    """Whether a run's first node and its execution are running."""

    def running(body: dict[str, Any]) -> bool:
        node = body["nodes"][0]
        if node["status"] != "running":
            return False
        execution = client.get(f"/api/v1/executions/{node['execution_id']}").json()
        return bool(execution["status"] == "running")

    return running


def ended(body: dict[str, Any]) -> bool:
    return body["run"]["status"] not in ("queued", "running")


@pytest.mark.timeout(180)
def test_a_run_carries_on_after_the_server_is_killed_in_the_middle(tmp_path: Path) -> None:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    document = tmp_path / "pipeline.yaml"
    document.write_text(DOCUMENT)
    first = start_server(tmp_path / "data", ENV)
    token = first.token or ""
    try:
        imported = cli(first.url, token, "workflows", "import", str(document))
        assert imported.returncode == 0, imported.stderr
        workflow_id = json.loads(cli(first.url, token, "workflows", "list", "--json").stdout)[0][
            "id"
        ]
        started = cli(first.url, token, "workflows", "run", str(workflow_id), "--input", "1")
        run_id = int(started.stdout.split()[-1].rstrip("."))
        with first.client() as client:
            wait_for(client, f"/api/v1/workflows/runs/{run_id}", first_node_running(client))
    finally:
        first.process.kill()  # in the middle of the slow node
        first.stop()
    second = start_server(tmp_path / "data", ENV)
    try:
        second.token = token
        with second.client() as client:
            done = wait_for(client, f"/api/v1/workflows/runs/{run_id}", ended)
        assert done["run"]["status"] == "succeeded", done
        assert done["run"]["output"] == 20
        slow = done["nodes"][0]
        with second.client() as client:
            attempt = client.get(f"/api/v1/executions/{slow['execution_id']}").json()
        assert (attempt["attempt"], attempt["retry_of"] is not None) == (2, True)
        shown = cli(second.url, token, "workflows", "run-show", str(run_id))
        assert f"Run {run_id} succeeded." in shown.stdout
        assert "times_ten" in shown.stdout
        exported = cli(second.url, token, "workflows", "export", str(workflow_id))
        assert "slow-step" in exported.stdout
    finally:
        second.stop()


def test_the_cli_runs_a_workflow_and_waits_for_it(tmp_path: Path) -> None:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    server: RunningServer = start_server(tmp_path / "data", {})
    token = server.token or ""
    try:
        document = tmp_path / "quick.yaml"
        document.write_text(DOCUMENT.replace("time.sleep(3)", "pass").replace("pipeline", "quick"))
        assert cli(server.url, token, "workflows", "import", str(document)).returncode == 0
        workflow_id = json.loads(cli(server.url, token, "workflows", "list", "--json").stdout)[0][
            "id"
        ]
        ran = cli(server.url, token, "workflows", "run", str(workflow_id), "--input", "4", "--wait")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "succeeded" in ran.stdout
        assert "50" in ran.stdout
        shown = cli(server.url, token, "workflows", "show", str(workflow_id))
        assert "on_success" in shown.stdout
    finally:
        server.stop()
