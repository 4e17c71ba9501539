"""Following logs live from another process: a real ``cronium server`` (SQLite, its worker in
the process), over Server-Sent Events, WebSocket and ``cronium logs -f``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cronium.cli.logs import sse_events
from tests.e2e.server import RunningServer, create_event, default_server, run_event

# Lines come while the test follows: the script waits for the follower's file.
LINES = 30
SCRIPT = f"""
for i in $(seq 0 {LINES - 1}); do
  if [ $((i % 2)) -eq 0 ]; then echo "out $i"; else echo "err $i" >&2; fi
  sleep 0.02
done
exit 5
"""
WORKFLOW = """
cronium: 1
workflow:
  name: live-pipeline
  nodes:
    - {name: first, event: live-first}
    - {name: second, event: live-second}
  edges:
    - {source: first, target: second, kind: on_success}
events:
  - name: live-first
    language: bash
    script: |
      echo one; sleep 0.2; echo two
  - name: live-second
    language: bash
    script: |
      echo three >&2
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from default_server(tmp_path_factory.mktemp("data"))


def expected_lines(start: int = 0) -> list[tuple[int, str, str]]:
    return [
        (i, "stdout" if i % 2 == 0 else "stderr", f"{'out' if i % 2 == 0 else 'err'} {i}")
        for i in range(start, LINES)
    ]


def follow_sse(
    client: httpx.Client, path: str, headers: dict[str, str] | None = None, stop_after: int = -1
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The events of a stream until its end (or until ``stop_after`` line events)."""
    events = []
    with client.stream("GET", path, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for event in sse_events(response.iter_lines()):
            events.append(event)
            lines_seen = sum(1 for name, _, _ in events if name == "line")
            if event[0] == "end" or lines_seen == stop_after:
                break
    return events


def line_tuples(events: list[tuple[str, str | None, dict[str, Any]]]) -> list[tuple[int, str, str]]:
    return [
        (data["seq"], data["stream"], data["line"]) for name, _, data in events if name == "line"
    ]


def test_a_follower_over_sse_gets_every_line_once_in_order_then_the_end(
    server: RunningServer,
) -> None:
    with server.client() as client:
        event = create_event(client, name="live-sse", script=SCRIPT)
        execution_id = run_event(client, event["id"])
        events = follow_sse(client, f"/api/v1/executions/{execution_id}/logs/stream")
    assert line_tuples(events) == expected_lines()
    assert [ident for name, ident, _ in events if name == "line"] == [str(i) for i in range(LINES)]
    name, _, end = events[-1]
    assert name == "end"
    assert (end["status"], end["exit_code"]) == ("failed", 5)


def test_a_follower_reconnecting_with_last_event_id_resumes_after_it(
    server: RunningServer,
) -> None:
    with server.client() as client:
        event = create_event(client, name="live-resume", script=SCRIPT)
        execution_id = run_event(client, event["id"])
        path = f"/api/v1/executions/{execution_id}/logs/stream"
        first = follow_sse(client, path, stop_after=7)
        last_id = [ident for name, ident, _ in first if name == "line"][-1]
        rest = follow_sse(client, path, headers={"Last-Event-ID": str(last_id)})
    assert line_tuples(first) + line_tuples(rest) == expected_lines()
    assert rest[-1][0] == "end"


def test_a_follower_over_websocket_gets_the_same_messages(server: RunningServer) -> None:
    with server.client() as client:
        event = create_event(client, name="live-ws", script=SCRIPT)
        execution_id = run_event(client, event["id"])
    url = f"{server.url.replace('http', 'ws', 1)}/api/v1/executions/{execution_id}/logs/ws"
    messages = []
    auth = {"Authorization": f"Bearer {server.token}"}
    with connect(url, additional_headers=auth, open_timeout=10) as socket:
        while True:
            message = json.loads(socket.recv(timeout=60))
            messages.append(message)
            if message["type"] == "end":
                break
    lines = [(m["seq"], m["stream"], m["line"]) for m in messages if m["type"] == "line"]
    assert lines == expected_lines()
    assert (messages[-1]["status"], messages[-1]["exit_code"]) == ("failed", 5)


def test_following_an_unknown_execution_is_404_over_sse_and_websocket(
    server: RunningServer,
) -> None:
    with server.client() as client:
        answer = client.get("/api/v1/executions/987654/logs/stream")
    assert answer.status_code == 404
    url = f"{server.url.replace('http', 'ws', 1)}/api/v1/executions/987654/logs/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers={"Authorization": f"Bearer {server.token}"})
    assert refused.value.response.status_code == 404


def test_a_session_websocket_is_taken_from_this_site_only(server: RunningServer) -> None:
    password = "a long enough phrase for the web"
    with server.client() as client:
        made = client.post(
            "/api/v1/users", json={"name": "web-live", "role": "admin", "password": password}
        )
        assert made.status_code == 201, made.text
        event = create_event(client, name="live-origin", script="echo hi")
        execution_id = run_event(client, event["id"])
    with httpx.Client(base_url=server.url) as browser:
        login = browser.post("/api/v1/auth/login", json={"name": "web-live", "password": password})
        assert login.status_code == 200, login.text
        cookie = f"cronium_session={browser.cookies['cronium_session']}"
    url = f"{server.url.replace('http', 'ws', 1)}/api/v1/executions/{execution_id}/logs/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"})
    assert refused.value.response.status_code == 403
    with connect(url, additional_headers={"Cookie": cookie, "Origin": server.url}) as socket:
        messages = [json.loads(message) for message in socket]
    assert [m["line"] for m in messages if m["type"] == "line"] == ["hi"]
    assert messages[-1]["type"] == "end"


def test_cronium_logs_follows_a_running_script_and_exits_with_its_code(
    server: RunningServer,
) -> None:
    with server.client() as client:
        event = create_event(
            client, name="live-cli", script="echo first\nsleep 3\necho second\nexit 4\n"
        )
        execution_id = run_event(client, event["id"])
        env = {**os.environ, "CRONIUM_URL": server.url, "CRONIUM_TOKEN": server.token or ""}
        command = [sys.executable, "-m", "cronium", "logs", str(execution_id), "-f"]
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            assert process.stdout is not None
            assert process.stdout.readline() == "first\n"
            # shown while the script still runs
            assert client.get(f"/api/v1/executions/{execution_id}").json()["status"] == "running"
            rest, errors = process.communicate(timeout=60)
    assert rest == "second\n"
    assert process.returncode == 4
    assert f"execution {execution_id} failed (exit code 4)" in errors


def test_a_workflow_run_stream_has_its_nodes_and_their_lines_then_its_outcome(
    server: RunningServer,
) -> None:
    with server.client() as client:
        imported = client.post(
            "/api/v1/workflows/import",
            content=WORKFLOW,
            headers={"Content-Type": "application/yaml"},
        )
        assert imported.status_code == 200, imported.text
        run = client.post(f"/api/v1/workflows/{imported.json()['id']}/run")
        assert run.status_code == 202, run.text
        events = follow_sse(client, f"/api/v1/workflows/runs/{run.json()['execution_id']}/stream")
    lines = [(d["node"], d["stream"], d["line"]) for name, _, d in events if name == "line"]
    assert lines == [
        ("first", "stdout", "one"),
        ("first", "stdout", "two"),
        ("second", "stderr", "three"),
    ]
    order = [
        (d["node"], d["line"] if name == "line" else d["status"])
        for name, _, d in events
        if name in ("line", "node")
    ]
    # each node's lines come before its end, and the second node starts after the first ends
    assert order.index(("first", "two")) < order.index(("first", "succeeded"))
    assert order.index(("first", "succeeded")) < order.index(("second", "three"))
    assert order.index(("second", "three")) < order.index(("second", "succeeded"))
    assert events[-1][0] == "end"
    assert events[-1][2]["status"] == "succeeded"


def test_a_workflow_run_stream_resumes_after_its_last_event_id(server: RunningServer) -> None:
    with server.client() as client:
        imported = client.post(
            "/api/v1/workflows/import",
            content=WORKFLOW.replace("live-", "resume-").replace("live-pipeline", "resumed"),
            headers={"Content-Type": "application/yaml"},
        )
        assert imported.status_code == 200, imported.text
        run = client.post(f"/api/v1/workflows/{imported.json()['id']}/run")
        stream = f"/api/v1/workflows/runs/{run.json()['execution_id']}/stream"
        first = follow_sse(client, stream, stop_after=1)  # gone after the first line
        last_id = next(ident for name, ident, _ in reversed(first) if name == "line")
        assert last_id is not None
        rest = follow_sse(client, stream, headers={"Last-Event-ID": last_id})
        refused = client.get(stream, headers={"Last-Event-ID": "not-a-position"})
    lines = [(d["node"], d["line"]) for name, _, d in first + rest if name == "line"]
    assert lines == [("first", "one"), ("first", "two"), ("second", "three")]  # each once
    assert rest[-1][0] == "end"
    assert rest[-1][2]["status"] == "succeeded"
    assert refused.status_code == 422
    assert "Last-Event-ID" in refused.json()["message"]
