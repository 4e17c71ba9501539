"""Executions per second and queue latency, embedded and as a fleet (not a test).

Trivial bash executions (``true``) on the native backend, from enqueue to recorded result:

- embedded: a real ``cronium server`` on SQLite; runs are queued through its REST API;
- fleet: PostgreSQL (``--postgres URL``, a database this benchmark may fill) with two
  ``cronium worker`` processes; runs are queued straight into the database.

For each: throughput over N executions queued at once (first queued to last finished, from the
database's timestamps), and queue latency (queued to started) median and p99, under that load and
with idle workers (one execution at a time). The baseline, measured in the same run: the same
number of bare ``bash -c true`` processes, 4 at a time. Writes bench/results/throughput.json.

    .venv/bin/python bench/throughput.py [--executions 500] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from cronium.domain.event import Language, ResourceLimits
from cronium.domain.execution import Execution
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate

RESULTS = Path(__file__).parent / "results"
IDLE_RUNS = 50


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def bare(count: int, parallel: int = 4) -> float:
    """Bare ``bash -c true`` processes per second, ``parallel`` at a time."""
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with gate:
            process = await asyncio.create_subprocess_exec("/usr/bin/bash", "-c", "true")
            await process.wait()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return count / (time.perf_counter() - started)


def summary(executions: list[Execution]) -> dict[str, float]:
    first = min(e.queued_at for e in executions)
    last = max(e.finished_at for e in executions if e.finished_at)
    latencies = [
        (e.started_at - e.queued_at).total_seconds() * 1000 for e in executions if e.started_at
    ]
    return {
        "per_second": len(executions) / (last - first).total_seconds(),
        "latency_median_ms": statistics.median(latencies),
        "latency_p99_ms": percentile(latencies, 0.99),
        "succeeded": sum(e.status == "succeeded" for e in executions),
    }


async def wait_all(store: Store, event_id: int, count: int) -> list[Execution]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        executions = await store.executions.latest(event_id=event_id, visible_to=None, limit=count)
        if len(executions) >= count and all(e.status.is_terminal for e in executions):
            return executions
        await asyncio.sleep(0.05)
    raise RuntimeError("the executions did not end in 10 minutes")


def cronium_process(role: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "cronium", role],
        env={**base, "CRONIUM_LOG_LEVEL": "warning", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


async def embedded(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as data:
        server = cronium_process("server", {"CRONIUM_DATA_DIR": data, "CRONIUM_PORT": "18181"})
        try:
            token = await _token_of(server)
            engine = create_engine(f"sqlite:///{data}/cronium.db")
            store = Store(engine)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                base_url="http://127.0.0.1:18181", headers=headers
            ) as http:
                body = {"name": "bench", "language": "bash", "script": "true"}
                event = (await http.post("/api/v1/events", json=body)).json()
                run = f"/api/v1/events/{event['id']}/run"
                idle = []
                for _ in range(IDLE_RUNS):
                    queued = (await http.post(run)).json()["execution_id"]
                    idle.append(await _finished(store, queued))
                started = time.monotonic()
                await asyncio.gather(*(http.post(run) for _ in range(count)))
                executions = await wait_all(store, event["id"], count + IDLE_RUNS)
            loaded = [e for e in executions if e.id not in {i.id for i in idle}]
            await engine.dispose()
            return {
                "load": summary(loaded),
                "idle": summary(idle),
                "wall_seconds": time.monotonic() - started,
            }
        finally:
            server.terminate()
            server.wait()


async def _token_of(server: subprocess.Popen[bytes]) -> str:
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = (await asyncio.to_thread(server.stdout.readline)).decode()
        if "CRONIUM_TOKEN=" in line:
            token = line.strip().split("CRONIUM_TOKEN=", 1)[1]
            async with httpx.AsyncClient() as http:
                for _ in range(100):  # then wait until it answers
                    try:
                        await http.get("http://127.0.0.1:18181/readyz")
                        return token
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not print its admin token")


async def _finished(store: Store, execution_id: int) -> Execution:
    while True:
        execution = await store.executions.get(execution_id)
        if execution.status.is_terminal:
            return execution
        await asyncio.sleep(0.005)


async def fleet(url: str, count: int) -> dict[str, Any]:
    engine = create_engine(url)
    await migrate(engine)
    store = Store(engine)
    service = Service(store)
    first = await service.accounts.bootstrap_admin(f"bench-{time.time_ns()}")
    if first is not None:
        user = first.user
    else:
        user, _ = await service.accounts.create_admin(f"bench-{time.time_ns()}")
    fields = EventFields(
        name=f"bench-{time.time_ns()}",
        language=Language.BASH,
        script="true",
        env={},
        limits=ResourceLimits(),
    )
    event = await service.create_event(user, fields)
    workers = [
        cronium_process(
            "worker", {"CRONIUM_DATABASE_URL": url, "CRONIUM_WORKER_POLL_INTERVAL": "1"}
        )
        for _ in range(2)
    ]
    try:
        await asyncio.sleep(3)  # let them start
        idle = []
        for _ in range(IDLE_RUNS):
            queued = await service.run_event(user, event.id)
            idle.append(await _finished(store, queued.id))
        started = time.monotonic()
        await asyncio.gather(*(service.run_event(user, event.id) for _ in range(count)))
        executions = await wait_all(store, event.id, count + IDLE_RUNS)
        loaded = [e for e in executions if e.id not in {i.id for i in idle}]
        return {
            "load": summary(loaded),
            "idle": summary(idle),
            "wall_seconds": time.monotonic() - started,
        }
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()
        await engine.dispose()


def report(results: dict[str, Any]) -> None:
    base = results["bare_bash_per_second"]
    print(f"baseline: bare `bash -c true`, 4 at a time: {base:.0f} per second")
    print(f"{'setup':<22} {'per s':>7} {'x bare':>7} {'latency med ms':>15} {'p99 ms':>8}")
    for name in ("embedded_sqlite", "postgres_2_workers"):
        if name not in results:
            continue
        for mode in ("load", "idle"):
            row = results[name][mode]
            print(
                f"{name + ' ' + mode:<22} {row['per_second']:7.1f} {row['per_second'] / base:7.2f} "
                f"{row['latency_median_ms']:15.1f} {row['latency_p99_ms']:8.1f}"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=500)
    parser.add_argument("--postgres", help="URL of a PostgreSQL database to use for the fleet")
    arguments = parser.parse_args()
    results: dict[str, Any] = {"bare_bash_per_second": await bare(arguments.executions)}
    results["embedded_sqlite"] = await embedded(arguments.executions)
    if arguments.postgres:
        results["postgres_2_workers"] = await fleet(arguments.postgres, arguments.executions)
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "throughput.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
