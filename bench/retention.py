"""The API's latency while a long history is pruned, and the prune's speed (not a test).

A history of 100,000 ended executions (20 events, 3 log lines each, ended over the last 60
days) is written with bulk SQL, then pruned to the default retention (30 days, 1000 per
event: about 80,000 go) by ``Pruner.run_all``, batch after batch, as ``cronium executions
prune`` does, while the REST API (create_app over the same store, served by uvicorn on
loopback in this process, as ``cronium server`` runs its API and its chores) answers GET
requests in a loop from a client thread. The baseline, measured in the same run over the
same history: the API's latency with no pruning. Prints, per batch size, medians of N runs:
the API's p50 and p99 without and during the prune, the prune's seconds and rows per second
(executions and log lines). SQLite, and PostgreSQL when ``--postgres URL`` (a superuser URL)
is given.

    .venv/bin/python bench/retention.py [--runs 3] [--batches 200,500,2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from postgres_db import postgres_database
from sqlalchemy import insert

from cronium.api.app import create_app
from cronium.retention import Batching, Pruner, RetentionPolicy
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate
from cronium.storage.tables import ExecutionRow, LogLineRow

EXECUTIONS = 100_000
EVENTS = 20
LINES = 3
CHUNK = 5000
BASELINE_SECONDS = 3.0
POLICY = RetentionPolicy(days=30, per_event=1000)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Run:
    base_p50: float
    base_p99: float
    p50: float
    p99: float
    seconds: float
    rows: int
    worst: float
    errors: int


async def populate(store: Store, service: Service, now: datetime) -> tuple[str, list[int]]:
    """The history; an admin's token and the ids of the events."""
    user, issued = await service.accounts.create_admin("bench")
    events = []
    for number in range(EVENTS):
        fields = EventFields(name=f"bench-{number}", script="true", env={})
        events.append((await service.create_event(user, fields)).id)
    span = timedelta(days=60) / EXECUTIONS
    for start in range(0, EXECUTIONS, CHUNK):
        executions, lines = [], []
        for index in range(start, min(start + CHUNK, EXECUTIONS)):
            ended = now - timedelta(days=60) + span * index
            ident = index + 1
            executions.append(
                {
                    "id": ident,
                    "event_id": events[index % EVENTS],
                    "status": "succeeded",
                    "attempt": 1,
                    "priority": 0,
                    "trigger": "schedule",
                    "start_failures": 0,
                    "timed_out": False,
                    "oom_killed": False,
                    "queued_at": ended - timedelta(seconds=2),
                    "started_at": ended - timedelta(seconds=1),
                    "finished_at": ended,
                    "exit_code": 0,
                }
            )
            lines += [
                {
                    "execution_id": ident,
                    "seq": seq,
                    "stream": "stdout",
                    "at": ended,
                    "line": "x" * 60,
                }
                for seq in range(LINES)
            ]
        async with store.db.write() as unit:
            await unit.session.execute(insert(ExecutionRow), executions)
            await unit.session.execute(insert(LogLineRow), lines)
    return issued.secret, events


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


@asynccontextmanager
async def served(service: Service) -> AsyncIterator[str]:
    """The REST API on loopback in this process, for the time of the block; its URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(service), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # up to 10 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Load:
    """GET requests in a loop from a thread of its own: an execution, its log, a list."""

    def __init__(self, url: str, token: str, event_id: int, execution_id: int) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.paths = [
            f"/api/v1/executions/{execution_id}",
            f"/api/v1/executions/{execution_id}/logs",
            f"/api/v1/executions?event_id={event_id}&limit=20",
        ]
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        number = 0
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                response = self.client.get(self.paths[number % len(self.paths)])
                response.raise_for_status()
            except httpx.HTTPError:
                self.errors += 1
            self.latencies.append(time.perf_counter() - started)
            number += 1

    async def __aenter__(self) -> Load:
        self._thread.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        # joined from a thread: the event loop must go on serving the last request
        self._stop.set()
        await asyncio.to_thread(self._thread.join)
        self.client.close()


async def one_run(url: str, batching: Batching) -> Run:
    engine = create_engine(url)
    try:
        await migrate(engine)
        store = Store(engine)
        service = Service(store)
        now = datetime.now(UTC)
        token, events = await populate(store, service, now)
        async with served(service) as api:
            async with Load(api, token, events[-1], EXECUTIONS) as baseline:
                await asyncio.sleep(BASELINE_SECONDS)
            async with Load(api, token, events[-1], EXECUTIONS) as during:
                started = time.perf_counter()
                pruned = await Pruner(store, POLICY, batching).run_all(now)
                seconds = time.perf_counter() - started
        return Run(
            base_p50=percentile(baseline.latencies, 0.5),
            base_p99=percentile(baseline.latencies, 0.99),
            p50=percentile(during.latencies, 0.5),
            p99=percentile(during.latencies, 0.99),
            seconds=seconds,
            rows=pruned.executions + pruned.log_lines,
            worst=max(during.latencies),
            errors=baseline.errors + during.errors,
        )
    finally:
        await engine.dispose()


async def measure(url_of: AsyncIterator[str], size: int, runs: int) -> list[Run]:
    results = []
    batching = Batching(executions=size)
    for _ in range(runs):
        url = await anext(url_of)
        results.append(await one_run(url, batching))
    return results


async def sqlite_urls(directory: Path) -> AsyncIterator[str]:
    number = 0
    while True:
        number += 1
        yield f"sqlite:///{directory / f'bench-{number}.db'}"


async def postgres_urls(server_url: str) -> AsyncIterator[str]:
    number = 0
    while True:
        number += 1
        async with postgres_database(server_url, f"cronium_bench_retention_{number}") as url:
            yield url


def row(database: str, size: int, runs: list[Run]) -> str:
    def median(name: str) -> float:
        return float(statistics.median(getattr(run, name) for run in runs))

    ms = 1000
    rate = statistics.median(run.rows / run.seconds for run in runs)
    return (
        f"{database:<10} {size:>6} {median('base_p50') * ms:>9.1f} {median('base_p99') * ms:>9.1f}"
        f" {median('p50') * ms:>8.1f} {median('p99') * ms:>8.1f} {median('seconds'):>8.2f}"
        f" {rate:>10,.0f} {max(run.worst for run in runs) * ms:>8.0f}"
        f" {sum(run.errors for run in runs):>6}"
    )


async def main(runs: int, sizes: list[int], postgres: str | None) -> None:
    logging.disable(logging.INFO)
    lines = []
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as directory:
        targets: list[tuple[str, AsyncIterator[str]]] = [("sqlite", sqlite_urls(Path(directory)))]
        if postgres:
            targets.append(("postgresql", postgres_urls(postgres)))
        for database, urls in targets:
            for size in sizes:
                lines.append(row(database, size, await measure(urls, size, runs)))
            await urls.aclose()  # type: ignore[attr-defined]
    print(
        f"{'database':<10} {'batch':>6} {'base p50':>9} {'base p99':>9} {'p50 ms':>8}"
        f" {'p99 ms':>8} {'prune s':>8} {'rows/s':>10} {'max ms':>8} {'errors':>6}"
    )
    print("\n".join(lines))
    print(f"({EXECUTIONS:,} ended executions, {LINES} log lines each; medians of {runs} runs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", default="200,500,2000", help="executions per batch")
    parser.add_argument("--postgres", help="a PostgreSQL superuser URL")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.batches.split(",")]
    asyncio.run(main(arguments.runs, sizes, arguments.postgres))
