"""A real server under a flood of output and a SIGTERM with runs in flight."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from tests.backends import missing
from tests.e2e.server import RunningServer, create_event, run_event, start_server, wait_for_end
from tests.polling import until_sync

MEMORY_BOUND = 1024 * 1024**2  # the server's resident memory must stay under 1 GiB


def native_server(data_dir: Path, **env: str) -> RunningServer:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    return start_server(data_dir, env)


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def event(client: httpx.Client, name: str, script: str, **settings: object) -> int:
    return int(create_event(client, name=name, script=script, **settings)["id"])


def ready_again(server: RunningServer) -> httpx.Response | None:
    """/readyz once the probe and the loops say that all works."""
    answer = httpx.get(f"{server.url}/readyz", timeout=5)
    return answer if answer.status_code == 200 else None


def status(client: httpx.Client, execution_id: int) -> str:
    return str(client.get(f"/api/v1/executions/{execution_id}").json()["status"])


def test_six_million_lines_leave_the_server_responsive_and_end_capped(tmp_path: Path) -> None:
    server = native_server(tmp_path)
    try:
        with server.client() as client:
            flood = run_event(
                client, event(client, "flood", "yes | head -c 12000000", timeout_seconds=120)
            )
            canary = event(client, "canary", "echo alive")
            slowest, peak, canaries = 0.0, 0, []

            def watch() -> bool:
                """Sample the server while the flood runs; True once it has ended."""
                nonlocal slowest, peak
                started = time.monotonic()
                assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                peak = max(peak, resident_bytes(server.process.pid))
                if len(canaries) < 5:
                    canaries.append(run_event(client, canary))
                return status(client, flood) not in ("queued", "running")

            until_sync(watch, 120, "the flood ending")
            ended = wait_for_end(client, flood, timeout=5)
            logs = client.get(f"/api/v1/executions/{flood}/logs").json()
            after = logs[-1]["seq"]
            logs += client.get(f"/api/v1/executions/{flood}/logs?after={after}").json()
            for execution_id in canaries:
                assert wait_for_end(client, execution_id)["status"] == "succeeded"
    finally:
        server.stop()
    assert ended["status"] == "succeeded", ended
    assert slowest < 1.0, f"/healthz took {slowest:.3f} s while the script flooded"
    assert peak < MEMORY_BOUND, f"the server reached {peak / 1024**2:.0f} MiB"
    assert logs[-1]["line"].startswith("[cronium: stdout reached the cap on lines per run")
    assert len(logs) == 100_001
    assert "5900000 more line(s)" in logs[-1]["line"]


def test_sigterm_drains_the_server_and_leaves_nothing_running(tmp_path: Path) -> None:
    server = native_server(tmp_path, CRONIUM_WORKER_SHUTDOWN_GRACE="20")
    with server.client() as client:
        slow = event(client, "slow", "sleep 2; echo finished")
        execution_id = run_event(client, slow)
        until_sync(lambda: status(client, execution_id) == "running", 10, "the run starting")
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=30)
    server.stop()
    assert code == 0, "".join(server.output)
    again = start_server(tmp_path, {"CRONIUM_WORKER_POLL_INTERVAL": "0.2"})
    try:
        with httpx.Client(
            base_url=again.url, headers={"Authorization": f"Bearer {server.token}"}
        ) as client:
            execution = client.get(f"/api/v1/executions/{execution_id}").json()
            logs = client.get(f"/api/v1/executions/{execution_id}/logs").json()
    finally:
        again.stop()
    assert execution["status"] == "succeeded", execution
    assert [line["line"] for line in logs] == ["finished"]


def test_a_clean_stop_leaves_no_prepared_directory(tmp_path: Path) -> None:
    from cronium.sandbox.host import DEFAULT_STATE_DIR

    prepared = DEFAULT_STATE_DIR / "native"
    server = native_server(tmp_path)
    with server.client() as client:
        execution_id = run_event(client, event(client, "one", "echo one"))
        assert wait_for_end(client, execution_id)["status"] == "succeeded"
    pid = server.process.pid
    assert list(prepared.glob(f"prepared-{pid}.*"))
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    server.stop()
    assert list(prepared.glob(f"prepared-{pid}.*")) == []


def test_in_flight_runs_keep_their_logs_and_results_through_a_full_disk(tmp_path: Path) -> None:
    """SQLite on a small file system that fills up while runs write lines: they end with
    every line once space is back, and the server answers throughout."""
    import os
    import subprocess

    if os.geteuid() != 0:
        missing("mounting a small tmpfs needs root")
    data = tmp_path / "small"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(data)], check=True)
    try:
        server = native_server(data)
        try:
            with server.client() as client:
                script = "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.5; done"
                writer = event(client, "writer", script)
                ids = [run_event(client, writer) for _ in range(4)]
                until_sync(
                    lambda: client.get(f"/api/v1/executions/{ids[0]}/logs").json(),
                    10,
                    "the first lines being stored",
                )
                filler = data / "filler"
                subprocess.run(
                    ["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=64"],
                    capture_output=True,
                )  # stops when the file system is full
                time.sleep(6)  # the disk stays full while the scripts write (8 lines, 0.5 s apart)
                assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
                full = httpx.get(f"{server.url}/readyz", timeout=5)
                filler.unlink()
                ended = [wait_for_end(client, execution_id, timeout=60) for execution_id in ids]
                ready = until_sync(
                    lambda: ready_again(server), 10, "writes working again", interval=0.1
                )
                logs = [client.get(f"/api/v1/executions/{i}/logs").json() for i in ids]
        finally:
            server.stop()
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)
    assert full.status_code == 503
    assert full.json()["writes"].startswith("failing: "), full.text
    assert ready.json()["writes"] == "ok", ready.text
    assert [execution["status"] for execution in ended] == ["succeeded"] * 4
    for lines in logs:
        assert [line["line"] for line in lines] == [f"line {i}" for i in range(1, 9)]


def test_sigterm_stops_the_api_role_cleanly(tmp_path: Path) -> None:
    api = start_server(tmp_path, {}, role="api")
    api.process.send_signal(signal.SIGTERM)
    code = api.process.wait(timeout=30)
    api.stop()
    assert code == 0, "".join(api.output)


def test_readyz_reports_the_loops_of_the_server(tmp_path: Path) -> None:
    server = native_server(tmp_path)
    try:
        ready = httpx.get(f"{server.url}/readyz", timeout=5).json()
    finally:
        server.stop()
    assert ready["status"] == "ok"
    assert ready["writes"] == "ok"
    assert {"worker claims", "worker control", "scheduler"} <= set(ready["loops"])
