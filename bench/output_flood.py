"""How fast a run's output is handled, from the script's pipe to the database (not a test).

Three scripts in the native sandbox, each run through a real worker on SQLite (lines split,
capped, batched and stored): ``seq 100000`` (all of it kept), ``yes | head -c 12000000`` (six
million lines, all but the cap dropped) and ``seq 1000000`` (a million, capped). The baseline,
measured in the same run, is the same script writing to a pipe read by ``wc -l`` outside any
sandbox. Prints medians of N runs, lines per second, and ratios to the baseline.

    .venv/bin/python bench/output_flood.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cronium.domain.event import Language, ResourceLimits
from cronium.sandbox.native import NativeBackend
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker

SCRIPTS = {
    "true": 0,
    "seq 100000": 100_000,
    "yes | head -c 12000000": 6_000_000,
    "seq 1000000": 1_000_000,
}


def bare(script: str) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-c", f"{script} | wc -l"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


async def through_worker(store: Store, service: Service, worker: Worker, event_id: int) -> float:
    user = await store.users.by_name("admin")
    started = time.perf_counter()
    await service.run_event(user, event_id, None)
    assert await worker.run_once()
    return time.perf_counter() - started


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        await migrate(engine)
        store = Store(engine)
        service = Service(store)
        user, _ = await service.accounts.create_admin("admin")
        worker = Worker(store, NativeBackend(), worker_id="bench")
        rows = []
        for script, lines in SCRIPTS.items():
            fields = EventFields(
                name=script,
                language=Language.BASH,
                script=script,
                env={},
                limits=ResourceLimits(timeout_seconds=300, memory_mb=256),
            )
            event = await service.create_event(user, fields)
            baseline, cronium = [], []
            for _ in range(runs):  # interleaved, so that noise hits both alike
                baseline.append(bare(script))
                cronium.append(await through_worker(store, service, worker, event.id))
            rows.append((script, lines, statistics.median(baseline), statistics.median(cronium)))
        await engine.dispose()
    print(
        f"{'script':<26} {'lines':>9} {'bare s':>8} {'cronium s':>10} {'lines/s':>11} {'ratio':>6}"
    )
    for script, lines, base, ours in rows:
        rate = lines / ours
        print(
            f"{script:<26} {lines:>9} {base:>8.3f} {ours:>10.3f} {rate:>11,.0f} {ours / base:>6.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
