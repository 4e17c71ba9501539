"""A real ``cronium server`` says what it does: where it listens, each request, each run's
start and end; as text or JSON; less with --quiet, no requests without the access log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import (
    RunningServer,
    create_event,
    run_event,
    wait_for_end,
)
from tests.e2e.test_robustness import native_server
from tests.polling import until_sync
from tests.postgres import free_port

TOKEN = re.compile(r"CRONIUM_TOKEN=(crn_\S+)")
# what the server prints before it logs anything: the administrator's token and password, once
ANNOUNCEMENT = (
    "Created the administrator",
    "    export CRONIUM_TOKEN=",
    "    web UI: ",
    "    (change the password",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on its defaults: text, the access log on, the native sandbox."""
    running = native_server(tmp_path_factory.mktemp("data"))
    yield running
    running.stop()


def printed(server: RunningServer) -> str:
    return "".join(server.output)


def wait_for_line(server: RunningServer, pattern: str, timeout: float = 10) -> str:
    """The first line of the server's output matching ``pattern`` (a regular expression)."""

    def found() -> str:
        return next((line for line in server.output if re.search(pattern, line)), "")

    return until_sync(found, timeout, f"a line matching {pattern!r}")


def log_lines(server: RunningServer) -> list[str]:
    """What the server logged: its output without the announcement of the admin token."""
    return [line for line in server.output if line.strip() and not line.startswith(ANNOUNCEMENT)]


# text, on the defaults


def test_it_says_where_it_listens(server: RunningServer) -> None:
    wait_for_line(server, rf" INFO cronium\.server: listening on {re.escape(server.url)}$")


def test_the_first_lines_are_still_the_admin_token(server: RunningServer) -> None:
    assert server.token is not None
    assert printed(server).count(server.token) == 1


def test_each_request_has_an_access_line_with_status_and_duration(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/api/v1/events").status_code == 200
        assert client.get("/api/v1/executions/999999").status_code == 404
    wait_for_line(server, r" INFO cronium\.access: GET /api/v1/events 200 \d+\.\d ms$")
    wait_for_line(server, r" cronium\.access: GET /api/v1/executions/999999 404 \d+\.\d ms$")


def test_a_webhook_key_is_masked(server: RunningServer) -> None:
    with server.client() as client:
        event_id = create_event(client, name="hooked")["id"]
        key = client.post(f"/api/v1/events/{event_id}/webhook").json()["key"]
        execution = httpx.post(f"{server.url}/api/v1/hooks/{key}?a=1", json={}, timeout=10)
        assert execution.status_code == 202
        wait_for_end(client, execution.json()["execution_id"])
    wait_for_line(server, r"cronium\.access: POST /api/v1/hooks/\*\*\* 202 \d+\.\d ms$")
    assert key not in printed(server)


def test_a_run_says_when_it_starts_and_ends(server: RunningServer) -> None:
    with server.client() as client:
        event = create_event(client, name="logged", script="exit 3", max_attempts=2)
        first = run_event(client, event["id"])
        wait_for_end(client, first)
    of_event = f"event {event['id']} 'logged'"
    wait_for_line(server, rf"cronium\.worker: execution {first} started: {of_event}, attempt 1")
    wait_for_line(
        server,
        rf"cronium\.worker: execution {first} failed \(exit code 3\) in \d+\.\d+ s: {of_event},"
        r" attempt 1 of 2; it will be retried$",
    )
    retried = wait_for_line(server, rf"started: {of_event}, attempt 2 of 2, retry of execution")
    second = int(re.search(r"execution (\d+) started", retried).group(1))  # type: ignore[union-attr]
    wait_for_line(server, rf"execution {second} failed \(exit code 3\) in .*attempt 2 of 2, retry")


# JSON, quiet, the access log off


def test_json_lines_parse_one_by_one(tmp_path: Path) -> None:
    running = native_server(tmp_path, CRONIUM_LOG_FORMAT="json")
    try:
        with running.client() as client:
            event = create_event(client, name="json-logged")
            execution = run_event(client, event["id"])
            wait_for_end(client, execution)
        wait_for_line(running, rf'"execution_id": {execution}, .*"status": "succeeded"')
    finally:
        running.stop()
    entries = [json.loads(line) for line in log_lines(running)]
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert listening(entries)["url"] == running.url
    access = next(e for e in entries if e["logger"] == "cronium.access" and e["status"] == 202)
    assert access["method"] == "POST"
    assert access["duration_ms"] >= 0
    ends = [e for e in entries if e.get("execution_id") == execution]
    assert [e["status"] for e in ends] == ["queued", "running", "succeeded"]
    assert ends[2]["event_id"] == event["id"]
    assert ends[2]["duration_ms"] >= 0


def listening(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in entries if e["message"].startswith("listening on"))


def test_quiet_logs_no_info_lines(tmp_path: Path) -> None:
    running = server_with_options(tmp_path, "--quiet")
    try:
        with running.client() as client:
            assert client.get("/api/v1/events").status_code == 200
    finally:
        running.stop()
    assert running.token is not None
    assert not [line for line in log_lines(running) if " INFO " in line]


def test_the_access_log_is_off_by_the_setting(tmp_path: Path) -> None:
    running = server_with_options(tmp_path, "--log-level", "DEBUG", CRONIUM_ACCESS_LOG="false")
    try:
        with running.client() as client:
            assert client.get("/api/v1/events").status_code == 200
        wait_for_line(running, r"DEBUG")
    finally:
        running.stop()
    assert "listening on" in printed(running)
    assert "cronium.access" not in printed(running)
    assert "/api/v1/events" not in printed(running)
    assert re.search(r"INFO cronium\.server: stopped$", printed(running), re.MULTILINE)


def server_with_options(data_dir: Path, *options: str, **env: str) -> RunningServer:
    """``cronium server OPTIONS`` on a free port and the local-insecure backend (these tests
    run nothing); ready, its output collected."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")},
        "CRONIUM_DATA_DIR": str(data_dir),
        "CRONIUM_PORT": str(port),
        "CRONIUM_SANDBOX": "local-insecure",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cronium", "server", *options],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = RunningServer(process, f"http://127.0.0.1:{port}", None)
    running.reader = threading.Thread(target=collect, args=(running,), daemon=True)
    running.reader.start()
    try:
        until_sync(lambda: ready(running), 30, "the server becoming ready", interval=0.1)
    except AssertionError:
        running.stop()
        raise
    return running


def collect(running: RunningServer) -> None:
    assert running.process.stdout is not None
    for line in running.process.stdout:
        running.output.append(line)
        if running.token is None and (match := TOKEN.search(line)):
            running.token = match.group(1)


def ready(running: RunningServer) -> bool:
    assert running.process.poll() is None, "the server exited:\n" + printed(running)
    try:
        return httpx.get(f"{running.url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
