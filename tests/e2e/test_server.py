"""End to end: a real server process, REST and CLI, a real worker and the local backend."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import (
    RunningServer,
    cli,
    create_event,
    default_server,
    run_event,
    start_server,
    wait_for_end,
)
from tests.polling import until_sync


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on its defaults: SQLite and the native sandbox."""
    yield from default_server(tmp_path_factory.mktemp("data"))


def test_first_start_prints_an_admin_token_once(server: RunningServer) -> None:
    assert server.token is not None
    printed = "".join(server.output)
    assert printed.count(server.token) == 1


def test_an_event_created_over_rest_runs_and_reports_exit_code_and_output(
    server: RunningServer,
) -> None:
    with server.client() as client:
        script = 'echo "hello $WHO"\necho warning >&2\nexit 42\n'
        event = create_event(client, name="e2e-bash", script=script, env={"WHO": "world"})
        run = run_event(client, event["id"], input={"x": 1})
        execution = wait_for_end(client, run)
        logs = client.get(f"/api/v1/executions/{run}/logs").json()
    assert (execution["status"], execution["exit_code"]) == ("failed", 42)
    assert execution["input"] == {"x": 1}
    assert execution["run_seconds"] is not None
    assert [(line["stream"], line["line"]) for line in logs] == [
        ("stdout", "hello world"),
        ("stderr", "warning"),
    ]


def test_python_and_node_events_succeed(server: RunningServer) -> None:
    scripts = {"python": "print(sum(range(10)))", "node": "console.log([1,2,3].length)"}
    with server.client() as client:
        for language, script in scripts.items():
            event = create_event(client, name=f"e2e-{language}", language=language, script=script)
            run = run_event(client, event["id"])
            execution = wait_for_end(client, run)
            logs = client.get(f"/api/v1/executions/{run}/logs").json()
            assert execution["status"] == "succeeded", (language, execution, logs)
            assert [line["line"] for line in logs] == [{"python": "45", "node": "3"}[language]]


def test_a_timeout_ends_the_execution_timed_out(server: RunningServer) -> None:
    with server.client() as client:
        event = create_event(client, name="e2e-sleep", script="sleep 30", timeout_seconds=1)
        execution = wait_for_end(client, run_event(client, event["id"]))
    assert execution["status"] == "timed_out"
    assert execution["timed_out"] is True
    assert execution["error"] == "timed out after 1 s"


def test_the_cli_creates_lists_shows_and_runs_events(server: RunningServer, tmp_path: Path) -> None:
    script = tmp_path / "greet.py"
    script.write_text("import os\nprint('hi', os.environ['WHO'])\nraise SystemExit(7)\n")
    created = cli(server, "events", "create", str(script), "--env", "WHO=cli", "--json")
    assert created.returncode == 0, created.stderr
    event_id = str(__import__("json").loads(created.stdout)["id"])
    listed = cli(server, "events", "list")
    assert "greet" in listed.stdout
    shown = cli(server, "events", "show", event_id)
    assert "raise SystemExit(7)" in shown.stdout
    ran = cli(server, "events", "run", event_id, "--input", '{"a": 1}', "--wait")
    assert ran.returncode == 7, ran.stderr
    assert ran.stdout == "hi cli\n"
    assert "failed" in ran.stderr
    execution_id = cli(server, "executions", "list", "--event", event_id, "--json")
    newest = __import__("json").loads(execution_id.stdout)[0]["id"]
    details = cli(server, "executions", "show", str(newest))
    assert "exit_code: 7" in details.stdout
    assert "hi cli" in details.stdout


def test_the_cli_reports_errors_plainly(server: RunningServer, tmp_path: Path) -> None:
    script = tmp_path / "bad.rb"
    script.write_text("puts 1")
    unknown = cli(server, "events", "create", str(script))
    assert unknown.returncode == 2
    assert "cannot tell the language of bad.rb" in unknown.stderr
    missing = cli(server, "events", "show", "9999")
    assert missing.returncode == 2
    assert "404: no event has id 9999" in missing.stderr
    bad_input = cli(server, "events", "run", "1", "--input", "{oops")
    assert "--input is not valid JSON" in bad_input.stderr


def test_the_server_runs_scripts_in_the_native_sandbox_by_default(
    server: RunningServer,
) -> None:
    with server.client() as client:
        assert client.get("/readyz").json()["worker"] == "running on the native backend"
        event = create_event(client, name="e2e-whoami", script="id -u; touch / 2>&1")
        run = run_event(client, event["id"])
        execution = wait_for_end(client, run)
        logs = client.get(f"/api/v1/executions/{run}/logs").json()
    assert logs[0]["line"] == "1000"
    assert "Read-only file system" in logs[1]["line"]
    assert execution["peak_memory_bytes"] > 0
    assert execution["cpu_seconds"] is not None


def test_scripts_hand_data_on_through_the_runtime_helpers(server: RunningServer) -> None:
    script = (
        "import cronium\n"
        "n = cronium.input()['n']\n"
        "cronium.set_variable('seen', n)\n"
        "cronium.set_condition(n > 1)\n"
        "cronium.output({'n': n + 1, 'seen': cronium.get_variable('seen')})\n"
    )
    with server.client() as client:
        event = create_event(client, name="e2e-helpers", language="python", script=script)
        execution = wait_for_end(client, run_event(client, event["id"], input={"n": 41}))
    assert execution["status"] == "succeeded", execution
    assert execution["output"] == {"n": 42, "seen": 41}
    assert execution["condition"] is True


def test_local_insecure_is_used_only_when_asked_for_and_warned_about(tmp_path: Path) -> None:
    running = start_server(tmp_path, {"CRONIUM_SANDBOX": "local-insecure"})
    script = "import cronium\ncronium.output(cronium.input() * 2)"
    try:
        ready = httpx.get(f"{running.url}/readyz").json()
        with running.client() as client:
            event = create_event(client, name="local", language="python", script=script)
            execution = wait_for_end(client, run_event(client, event["id"], input=21))
    finally:
        running.stop()
    assert ready["worker"] == "running on the local-insecure backend"
    assert execution["output"] == 42, execution
    assert "no limits. Use it only for development" in "".join(running.output)


def test_without_a_working_backend_the_server_says_why_scripts_cannot_run(
    tmp_path: Path,
) -> None:
    environment = {"CRONIUM_SANDBOX": "docker", "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    running = start_server(tmp_path, environment)
    try:
        ready = httpx.get(f"{running.url}/readyz").json()
    finally:
        running.stop()
    assert ready["worker"].startswith("not running: the Docker daemon does not answer")
    assert "scripts will not run" in "".join(running.output)


def test_a_second_start_keeps_the_data_and_prints_no_new_token(tmp_path: Path) -> None:
    first = start_server(tmp_path, {"CRONIUM_SANDBOX": "local-insecure"})
    first.stop()
    second = start_server(tmp_path, {"CRONIUM_SANDBOX": "local-insecure"})
    try:
        assert second.token is None
        assert first.token is not None
        me = httpx.get(
            f"{second.url}/api/v1/users/me", headers={"Authorization": f"Bearer {first.token}"}
        )
    finally:
        second.stop()
    assert me.json()["name"] == "admin"


def test_a_scheduled_event_fires_through_the_servers_scheduler(
    server: RunningServer, tmp_path: Path
) -> None:
    script = tmp_path / "tick.sh"
    script.write_text("echo tick\n")
    preview = cli(server, "events", "next", "--cron", "0 9 * * *", "--tz", "Europe/Paris")
    assert preview.returncode == 0, preview.stderr
    assert len(preview.stdout.splitlines()) == 5
    assert all(line.endswith(("CET", "CEST")) for line in preview.stdout.splitlines())
    every_second = ["--cron", "* * * * * *", "--concurrency", "forbid"]
    created = cli(server, "events", "create", str(script), *every_second, "--json")
    assert created.returncode == 0, created.stderr
    event_id = str(__import__("json").loads(created.stdout)["id"])
    with server.client() as client:

        def fired() -> list[dict[str, Any]]:
            runs = client.get("/api/v1/executions", params={"event_id": event_id}).json()
            succeeded = [e for e in runs if e["status"] == "succeeded"]
            return succeeded if len(succeeded) >= 2 else []

        runs = until_sync(fired, 20, "two fires succeeding", interval=0.2)
        assert {e["trigger"] for e in runs} == {"schedule"}
        assert cli(server, "events", "pause", event_id).returncode == 0
        time.sleep(1.5)  # a tick under way when the pause was written may still fire once
        count = len(client.get("/api/v1/executions", params={"event_id": event_id}).json())
        time.sleep(2)  # time for two more fires, had the pause not stopped them
        assert len(client.get("/api/v1/executions", params={"event_id": event_id}).json()) == count


def test_the_cli_lists_and_restores_versions(server: RunningServer, tmp_path: Path) -> None:
    script = tmp_path / "versioned.sh"
    script.write_text("echo one\n")
    created = cli(server, "events", "create", str(script), "--json")
    event_id = str(json.loads(created.stdout)["id"])
    with server.client() as client:
        client.patch(f"/api/v1/events/{event_id}", json={"script": "echo two\n", "cpus": 1})
    listed = cli(server, "events", "versions", event_id)
    assert listed.returncode == 0, listed.stderr
    assert "created" in listed.stdout
    assert "script, cpus" in listed.stdout
    restored = cli(server, "events", "restore", event_id, "1")
    assert restored.returncode == 0, restored.stderr
    assert "it is now version 3" in restored.stdout
    assert "restored 1: script, cpus" in cli(server, "events", "versions", event_id).stdout
    ran = cli(server, "events", "run", event_id, "--wait")
    assert ran.stdout == "one\n"
    missing_version = cli(server, "events", "restore", event_id, "9")
    assert missing_version.returncode != 0
    assert f"event {event_id} has no version 9" in missing_version.stderr


def test_the_cli_creates_an_http_event(server: RunningServer) -> None:
    header = ["--header", "Accept: application/json"]
    created = cli(
        server, "events", "create-http", "health", f"{server.url}/healthz", *header, "--json"
    )
    assert created.returncode == 0, created.stderr
    event = json.loads(created.stdout)
    assert (event["kind"], event["http"]["headers"]) == ("http", {"Accept": "application/json"})
    # the server keeps its default: no loopback for HTTP-request events
    ran = cli(server, "events", "run", str(event["id"]), "--wait")
    assert ran.returncode != 0
    assert "CRONIUM_HTTP_ALLOW_PRIVATE=true" in ran.stderr
