"""Scheduler lateness, duplicates, misses and CPU with many schedules (not a test).

N active events fire every minute, spread over the seconds (``S * * * * *``, S = i mod 60).
A real scheduler runs for a warm-up of 15 s, then M minutes measured; the table shows the
lateness of each fire (queued minus due) median and p99, duplicates and misses (both must be
0), the scheduler's CPU while firing, and its CPU while idle (N schedules, none due).
Baseline, in the same run: computing the next fire time of every schedule once, which a
scheduler must at least do each minute.

    .venv/bin/python bench/scheduler.py [--schedules 10000] [--minutes 3] [--postgres URL]

``--postgres``: a superuser URL of a PostgreSQL server; the benchmark creates its own databases
there and drops them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postgres_db import postgres_database

from cronium.domain.event import Language, ResourceLimits
from cronium.domain.schedule import Schedule
from cronium.scheduler import CHANGE_OVERLAP, Scheduler
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate

RESULTS = Path(__file__).parent / "results"
WARM_UP = 15.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def populate(service: Service, count: int, expression: str) -> None:
    user, _ = await service.accounts.create_admin(f"bench-{time.time_ns()}")
    for index in range(count):
        cron = expression.format(second=index % 60)
        fields = EventFields(
            name=f"s{index}",
            language=Language.BASH,
            script="true",
            env={},
            limits=ResourceLimits(),
            schedule=Schedule.of_cron(cron),
        )
        await service.create_event(user, fields)


async def measure(url: str, count: int, minutes: float) -> dict[str, Any]:
    engine = create_engine(url)
    await migrate(engine)
    store = Store(engine)
    await populate(Service(store), count, "{second} * * * * *")
    scheduler = Scheduler(store)
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    # Warm-up: the first load, and the fires missed while the events were being created.
    await asyncio.sleep(WARM_UP)
    started, cpu = datetime.now(UTC), time.process_time()
    await asyncio.sleep(minutes * 60)
    ended, cpu_used = datetime.now(UTC), time.process_time() - cpu
    stop.set()
    await running
    executions = [
        e
        for e in await store.executions.latest(event_id=None, visible_to=None, limit=10**7)
        if e.scheduled_at is not None
    ]
    rows = [(e.event_id, e.scheduled_at, e.queued_at) for e in executions if e.scheduled_at]
    await engine.dispose()
    return summarize(rows, count, started, ended, cpu_used)


def summarize(
    rows: Any, count: int, started: datetime, ended: datetime, cpu: float
) -> dict[str, Any]:
    seen: set[tuple[int, datetime]] = set()
    duplicates, lateness = 0, []
    for event_id, scheduled_at, queued_at in rows:
        if scheduled_at < started:
            continue  # fired during the warm-up
        key = (event_id, scheduled_at)
        duplicates += key in seen
        seen.add(key)
        lateness.append((queued_at - scheduled_at).total_seconds() * 1000)
    # every fire strictly inside the run (one second of margin at both ends) must be there
    first = started.replace(microsecond=0) + timedelta(seconds=2)
    last = ended - timedelta(seconds=1)
    expected, moment = 0, first
    while moment < last:
        expected += sum(1 for index in range(count) if index % 60 == moment.second)
        moment += timedelta(seconds=1)
    inside = {key for key in seen if first <= key[1] < last}
    return {
        "fires": len(lateness),
        "lateness_median_ms": statistics.median(lateness) if lateness else None,
        "lateness_p99_ms": percentile(lateness, 0.99) if lateness else None,
        "duplicates": duplicates,
        "misses": max(0, expected - len(inside)),
        "cpu_share_firing": cpu / (ended - started).total_seconds(),
    }


async def idle_cpu(url: str, count: int, seconds: float) -> float:
    engine = create_engine(url)
    await migrate(engine)
    store = Store(engine)
    await populate(Service(store), count, "{second} 0 1 1 *")  # once a year: never due here
    scheduler = Scheduler(store)
    stop = asyncio.Event()
    await scheduler.run_once()  # the first full load is not idle time
    # nor is reading again the events just created (changes are read with an overlap)
    await asyncio.sleep(CHANGE_OVERLAP.total_seconds() + 1)
    cpu, wall = time.process_time(), time.monotonic()
    running = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await running
    share = (time.process_time() - cpu) / (time.monotonic() - wall)
    await engine.dispose()
    return share


def baseline(count: int) -> float:
    schedules = [Schedule.of_cron(f"{i % 60} * * * * *") for i in range(count)]
    now = datetime.now(UTC)
    started = time.process_time()
    for schedule in schedules:
        schedule.next_fires(now, 1)
    return time.process_time() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database to fill")
    arguments = parser.parse_args()
    results: dict[str, Any] = {"baseline_next_fire_all_seconds": baseline(arguments.schedules)}
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as directory:
        sqlite = f"sqlite:///{directory}/firing.db"
        results["sqlite"] = await measure(sqlite, arguments.schedules, arguments.minutes)
        idle = f"sqlite:///{directory}/idle.db"
        results["sqlite"]["cpu_share_idle"] = await idle_cpu(idle, arguments.schedules, 30)
    if arguments.postgres:
        async with postgres_database(arguments.postgres, "cronium_bench_firing") as url:
            results["postgres"] = await measure(url, arguments.schedules, arguments.minutes)
        async with postgres_database(arguments.postgres, "cronium_bench_idle") as url:
            results["postgres"]["cpu_share_idle"] = await idle_cpu(url, arguments.schedules, 30)
    print(
        f"baseline: next fire of {arguments.schedules} schedules: "
        f"{results['baseline_next_fire_all_seconds'] * 1000:.0f} ms of CPU"
    )
    print(
        f"{'database':<10} {'fires':>7} {'late med ms':>12} {'late p99 ms':>12} "
        f"{'dup':>4} {'miss':>5} {'cpu firing':>11} {'cpu idle':>9}"
    )
    for name in ("sqlite", "postgres"):
        if name in results:
            row = results[name]
            print(
                f"{name:<10} {row['fires']:>7} {row['lateness_median_ms']:>12.1f} "
                f"{row['lateness_p99_ms']:>12.1f} {row['duplicates']:>4} {row['misses']:>5} "
                f"{row['cpu_share_firing']:>10.1%} {row.get('cpu_share_idle', float('nan')):>9.1%}"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scheduler.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    asyncio.run(main())
