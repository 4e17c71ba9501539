"""Real processes: the API's /metrics read by a real Prometheus server, a worker alone on its
own metrics port, runtime API calls counted, a run's usage in ``cronium executions show``,
and the state-change lines of the process log (JSON fields, no secret)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import missing
from tests.e2e.server import (
    FLEET_KEY,
    RunningServer,
    cli,
    create_event,
    kill_all,
    run_event,
    start_role,
    start_server,
    wait_for_end,
)
from tests.e2e.test_robustness import native_server
from tests.polling import until_sync
from tests.postgres import free_port
from tests.scrape import sample

pytestmark = pytest.mark.timeout(120)

ENDED = "cronium_executions_total"
SECRET = "hunter2-do-not-log-7c1f"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = native_server(tmp_path_factory.mktemp("data"), CRONIUM_LOG_FORMAT="json")
    yield running
    running.stop()


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        missing("Prometheus is not installed: apt-get install prometheus")
    assert found is not None
    return found


def start_prometheus(
    binary: str, target: str, data_dir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """A Prometheus of the test's own on a free loopback port, scraping ``target`` (host:port)
    every second."""
    config = data_dir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: cronium\n    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def test_a_real_prometheus_scrapes_the_executions_counter(
    server: RunningServer, tmp_path: Path
) -> None:
    binary = prometheus_binary()
    with server.client() as client:
        event = create_event(client, name="scraped")
        wait_for_end(client, run_event(client, event["id"]))
    process, url = start_prometheus(binary, server.url.removeprefix("http://"), tmp_path)

    def scraped() -> float:
        query = {"query": f'{ENDED}{{status="succeeded",language="bash"}}'}
        answer = httpx.get(f"{url}/api/v1/query", params=query, timeout=2).json()
        return sum(float(found["value"][1]) for found in answer["data"]["result"])

    try:
        assert (
            until_sync(scraped, 60, "Prometheus reading the counter", ignoring=(httpx.HTTPError,))
            >= 1
        )
    finally:
        kill_all([process])  # type: ignore[list-item]


def test_a_worker_alone_serves_metrics_on_its_own_port(tmp_path: Path) -> None:
    api = start_server(tmp_path, {"CRONIUM_SECRET_KEY": FLEET_KEY}, role="api")
    port = free_port()
    worker = start_role(
        f"sqlite+aiosqlite:///{(tmp_path / 'cronium.db').resolve()}",
        "worker",
        CRONIUM_DATA_DIR=str(tmp_path),
        CRONIUM_METRICS_PORT=str(port),
        CRONIUM_WORKER_POLL_INTERVAL="0.2",
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    try:
        before = until_sync(
            lambda: httpx.get(metrics, timeout=2).text,
            30,
            "the worker's metrics port",
            ignoring=(httpx.HTTPError,),
        )
        assert "# TYPE cronium_workers_alive gauge" in before
        with api.client() as client:
            event = create_event(client, name="worker-metrics")
            wait_for_end(client, run_event(client, event["id"]))
        labels = {"status": "succeeded", "language": "bash"}

        def counted() -> bool:
            after = httpx.get(metrics, timeout=2).text
            return sample(after, ENDED, **labels) == sample(before, ENDED, **labels) + 1

        until_sync(counted, 10, "the worker counting its run")
    finally:
        kill_all([worker])
        api.stop()


def test_each_state_change_is_one_json_line_with_the_ids_and_no_secret(
    server: RunningServer,
) -> None:
    with server.client() as client:
        put = client.put("/api/v1/variables/API_KEY", json={"value": SECRET, "secret": True})
        assert put.status_code in (200, 201), put.text
        script = 'echo "using $API_KEY"; exit 3'
        event = create_event(client, name="secretive", script=script, secrets={"API_KEY": "env"})
        execution = run_event(client, event["id"])
        assert wait_for_end(client, execution)["status"] == "failed"

    def lines() -> list[dict[str, Any]]:
        entries = [json.loads(line) for line in server.output if line.startswith("{")]
        mine = [e for e in entries if e.get("execution_id") == execution]
        return mine if len(mine) >= 3 else []

    changes = until_sync(lines, 10, "the execution's state-change lines")
    assert [e["status"] for e in changes] == ["queued", "running", "failed"]
    assert all(e["event_id"] == event["id"] and e["attempt"] == 1 for e in changes)
    assert changes[1]["worker"] == changes[2]["worker"]
    assert SECRET not in "".join(server.output)


def test_runtime_calls_are_counted_by_endpoint_template(server: RunningServer) -> None:
    called = {"endpoint": "POST /executions/{execution_id}/output", "status": "2xx"}
    before = httpx.get(f"{server.url}/metrics", timeout=5).text
    with server.client() as client:
        event = create_event(client, name="hands-over", script="cronium_output '{\"n\": 1}'")
        assert wait_for_end(client, run_event(client, event["id"]))["output"] == {"n": 1}
    after = httpx.get(f"{server.url}/metrics", timeout=5).text
    calls = "cronium_runtime_requests_total"
    assert sample(after, calls, **called) == sample(before, calls, **called) + 1
    assert "execution_id=" not in after  # no label holds an id


def test_executions_show_prints_the_usage_of_a_run(server: RunningServer) -> None:
    with server.client() as client:
        event = create_event(client, name="measured")
        execution = run_event(client, event["id"])
        wait_for_end(client, execution)
    shown = cli(server, "executions", "show", str(execution))
    assert shown.returncode == 0, shown.stderr
    for name in (
        "queue_wait_seconds",
        "setup_seconds",
        "run_seconds",
        "cleanup_seconds",
        "peak_memory_bytes",
        "cpu_seconds",
    ):
        assert f"{name}:" in shown.stdout, name
