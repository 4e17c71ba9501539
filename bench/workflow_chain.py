"""A chain of 40 sequential Python steps, each handing on its input + 1 (not a test).

The shape of Windmill's published benchmark: a workflow of N nodes in a line, each a Python
script that reads its input with ``cronium.input()`` and hands on ``input + 1`` with
``cronium.output()``, each in its own native sandbox, on the embedded SQLite database with one
in-process worker (and, with ``--postgres URL``, on PostgreSQL). Measured: the run's total time
(queued to finished), and the overhead per step over the baseline measured in the same run: the
same N steps as bare interpreters (``python3 -c`` reading the number from its argument and
printing it + 1, one after the other). Medians of R runs. Writes
bench/results/workflow_chain.json.

    .venv/bin/python bench/workflow_chain.py [--steps 40] [--runs 5] [--postgres URL]

``--postgres``: a superuser URL; the benchmark creates its own database there and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from postgres_db import postgres_database

from cronium.domain.event import EventKind, Language, ResourceLimits
from cronium.domain.workflow import Edge, EdgeKind, Graph, Node
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.native import NativeBackend
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker

RESULTS = Path(__file__).parent / "results"
STEP = "import cronium\ncronium.output(cronium.input() + 1)\n"
BARE = "import sys\nprint(int(sys.argv[1]) + 1)\n"


def bare_chain(steps: int) -> float:
    """Seconds for ``steps`` bare interpreters one after the other, each fed the last output."""
    value, started = 0, time.perf_counter()
    for _ in range(steps):
        done = subprocess.run(
            ["/usr/bin/python3", "-c", BARE, str(value)],
            capture_output=True,
            text=True,
            check=True,
        )
        value = int(done.stdout)
    assert value == steps
    return time.perf_counter() - started


async def chain(url: str, steps: int, runs: int) -> list[float]:
    """Seconds of each of ``runs`` runs of the chain (queued to finished)."""
    engine = create_engine(url)
    await migrate(engine)
    store = Store(engine)
    service = Service(store)
    user, _ = await service.accounts.create_admin(f"bench-{uuid.uuid4().hex[:6]}")
    step = await service.create_event(
        user,
        EventFields(
            name="plus-one",
            language=Language.PYTHON,
            script=STEP,
            env={},
            limits=ResourceLimits(timeout_seconds=60),
        ),
    )
    names = [f"s{index:02d}" for index in range(steps)]
    graph = Graph(
        nodes=tuple(Node(name, step.id) for name in names),
        edges=tuple(Edge(a, b, EdgeKind.ON_SUCCESS) for a, b in itertools.pairwise(names)),
    )
    workflow = await service.create_event(
        user,
        EventFields(
            name="chain",
            language=None,
            script="",
            env={},
            limits=ResourceLimits(),
            kind=EventKind.WORKFLOW,
            workflow=graph,
        ),
    )
    runtime = RuntimeServer(url)
    await asyncio.to_thread(runtime.start)
    worker = Worker(store, NativeBackend(), runtime=runtime)
    service.notify_on_enqueue(worker.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    seconds = []
    try:
        for _ in range(runs + 1):  # the first one warms up
            run = await service.run_event(user, workflow.id, 0)
            for _ in range(6000):
                done = await store.executions.get(run.id)
                if done.status not in ("queued", "running"):
                    break
                await asyncio.sleep(0.2)  # the times come from the database
            assert done.status == "succeeded", (done.status, done.error)
            assert done.output == steps, done.output
            assert done.finished_at is not None
            seconds.append((done.finished_at - done.queued_at).total_seconds())
    finally:
        stop.set()
        await loop
        await asyncio.to_thread(runtime.stop)
        await engine.dispose()
    return seconds[1:]


def row(name: str, totals: list[float], bare: float, steps: int) -> dict[str, Any]:
    total = statistics.median(totals)
    return {
        "database": name,
        "total_seconds_median": total,
        "total_seconds_all": totals,
        "per_step_ms": total / steps * 1000,
        "overhead_per_step_ms": (total - bare) / steps * 1000,
        "ratio_to_bare": total / bare,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="superuser URL of a PostgreSQL server")
    arguments = parser.parse_args()
    steps = arguments.steps
    bare = statistics.median(bare_chain(steps) for _ in range(arguments.runs))
    rows = []
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as directory:
        totals = await chain(f"sqlite:///{directory}/chain.db", steps, arguments.runs)
        rows.append(row("sqlite", totals, bare, steps))
    if arguments.postgres:
        async with postgres_database(arguments.postgres, "cronium_bench_chain") as url:
            rows.append(row("postgres", await chain(url, steps, arguments.runs), bare, steps))
    print(
        f"baseline: {steps} bare python3 one after the other: {bare:.3f} s "
        f"({bare / steps * 1000:.1f} ms each)"
    )
    print(
        f"{'database':<10} {'total s':>8} {'per step ms':>12} {'overhead/step ms':>17} "
        f"{'x bare':>7}"
    )
    for result in rows:
        print(
            f"{result['database']:<10} {result['total_seconds_median']:>8.3f} "
            f"{result['per_step_ms']:>12.1f} {result['overhead_per_step_ms']:>17.1f} "
            f"{result['ratio_to_bare']:>7.2f}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "workflow_chain.json").write_text(
        json.dumps({"steps": steps, "bare_seconds": bare, "results": rows}, indent=1)
    )


if __name__ == "__main__":
    asyncio.run(main())
