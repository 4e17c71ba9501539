"""Live logs: from a script writing a line to a follower receiving it over SSE (not a test).

A Python script in the native sandbox prints the time (``time.time()``) and sleeps, LINES
times; a follower of ``/executions/{id}/logs/stream`` in this process takes the difference
with its own clock as each line arrives. Setups:

- sqlite: a real ``cronium server`` (SQLite, its worker in the process: the fan-out is woken
  by the store's in-process signal);
- postgres (``--postgres URL``, a server this benchmark may make a database on): ``cronium
  api`` and ``cronium worker`` as separate processes (woken by NOTIFY).

The baseline, measured in the same run: the same script run bare, its stdout a pipe read by
this process. The worker stores a line within 0.05 s of its coming, with what came meanwhile
(logwriter.py), so most of the latency is that wait; what the follower adds is the rest.
Prints, for each setup, the medians over N runs of each run's min, p50, p95 and max, in
milliseconds.

    .venv/bin/python bench/live_logs.py [--runs 5] [--postgres URL]
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from postgres_db import postgres_database

from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate

LINES = 40
SCRIPT = f"""
import time
for _ in range({LINES}):
    print(repr(time.time()), flush=True)
    time.sleep(0.05)
"""
PORT = 18191
KEY = "q4b5ZQ3iYQ7d2yTpV6cX0n8sLwA1rKfE9uHjGmNtBzo="  # the benchmark's own deployment key


Stats = tuple[float, float, float, float]


def percentiles(latencies: list[float]) -> Stats:
    """min, p50, p95 and max. The min is about what storing and following add to a line
    written just before a batch is stored."""
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return ordered[0], statistics.median(ordered), p95, ordered[-1]


def bare() -> list[float]:
    """Latencies of the same script's lines read from a pipe, outside any sandbox."""
    latencies = []
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            latencies.append(time.time() - float(line))
    return latencies


async def followed(http: httpx.AsyncClient, event_id: int) -> list[float]:
    """Latencies of one run's lines, received over SSE."""
    run = await http.post(f"/api/v1/events/{event_id}/run")
    execution_id = run.json()["execution_id"]
    latencies = []
    stream = f"/api/v1/executions/{execution_id}/logs/stream"
    async with http.stream("GET", stream, timeout=60) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                if data["type"] == "line":
                    latencies.append(time.time() - float(data["line"]))
    return latencies


def cronium_process(role: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "cronium", role],
        env={**base, "CRONIUM_LOG_LEVEL": "warning", "CRONIUM_PORT": str(PORT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@asynccontextmanager
async def sqlite_setup() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as data:
        token = await _admin_token(f"sqlite:///{data}/cronium.db")
        server = cronium_process("server", {"CRONIUM_DATA_DIR": data})
        try:
            yield token
        finally:
            server.terminate()
            server.wait()


@asynccontextmanager
async def postgres_setup(server_url: str) -> AsyncIterator[str]:
    async with postgres_database(server_url, f"cronium_bench_live_{os.getpid()}") as url:
        token = await _admin_token(url)
        env = {"CRONIUM_DATABASE_URL": url, "CRONIUM_SECRET_KEY": KEY}
        processes = [cronium_process("api", env), cronium_process("worker", env)]
        try:
            yield token
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait()


async def _admin_token(url: str) -> str:
    engine = create_engine(url)
    await migrate(engine)
    _, issued = await Service(Store(engine)).accounts.create_admin(f"bench-{time.time_ns()}")
    await engine.dispose()
    return issued.secret


async def wait_ready(http: httpx.AsyncClient) -> None:
    """Until the server answers /readyz (at most 30 s)."""
    for _ in range(300):
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)


async def measure(token: str, runs: int) -> dict[str, list[Stats]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", headers=headers) as http:
        await wait_ready(http)
        body = {"name": "bench-live", "language": "python", "script": SCRIPT}
        event = (await http.post("/api/v1/events", json=body)).json()
        results: dict[str, list[Stats]] = {"bare": [], "sse": []}
        for _ in range(runs):  # interleaved, so that noise hits both alike
            results["bare"].append(percentiles(await asyncio.to_thread(bare)))
            results["sse"].append(percentiles(await followed(http, event["id"])))
        return results


def medians(rows: list[Stats]) -> tuple[float, ...]:
    """The median over the runs of each run's min, p50, p95 and max, in milliseconds."""
    return tuple(statistics.median(row[i] for row in rows) * 1000 for i in range(4))


async def main(runs: int, postgres: str | None) -> None:
    table: list[tuple[str, tuple[float, ...]]] = []
    setups: list[tuple[str, Any]] = [("sqlite, one process", sqlite_setup())]
    if postgres:
        setups.append(("postgres, api + worker", postgres_setup(postgres)))
    for name, setup in setups:
        async with setup as token:
            results = await measure(token, runs)
        table.append((f"{name}: SSE", medians(results["sse"])))
        table.append((f"{name}: baseline pipe", medians(results["bare"])))
    print(f"{'setup':<40} {'min ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, (least, p50, p95, worst) in table:
        print(f"{name:<40} {least:>8.1f} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="superuser URL of a PostgreSQL server")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.postgres))
