"""What a flood of output costs the server's memory, followed or not (not a test).

A real ``cronium server`` (SQLite, the native sandbox) runs ``seq 1500000`` (1.5 million lines,
past the default output cap) three ways: with no follower (the baseline), followed over SSE by
a client that reads as fast as it can, and by one that reads a line every 10 ms for 3 s and
then goes away. The server's resident memory (VmRSS) is sampled every 20 ms from before the run
to its end; the table gives the medians over N runs of the peak growth over the idle size, and
of the run's duration (the script is never held back by a follower).

    .venv/bin/python bench/follow_memory.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from live_logs import PORT, _admin_token, cronium_process, wait_ready

SCRIPT = "seq 1500000"
Mode = str  # "none", "fast", "slow"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def follow(http: httpx.AsyncClient, execution_id: int, mode: Mode) -> None:
    stream = f"/api/v1/executions/{execution_id}/logs/stream"
    started = time.monotonic()
    async with http.stream("GET", stream, timeout=120) as response:
        async for _ in response.aiter_lines():
            if mode == "slow":
                await asyncio.sleep(0.01)
                if time.monotonic() - started > 3:
                    return  # goes away: costs nothing after


async def one_run(
    http: httpx.AsyncClient, pid: int, event_id: int, mode: Mode
) -> tuple[int, float]:
    idle = rss_bytes(pid)
    peak = idle
    started = time.monotonic()
    execution_id = (await http.post(f"/api/v1/events/{event_id}/run")).json()["execution_id"]
    follower = None if mode == "none" else asyncio.create_task(follow(http, execution_id, mode))
    while True:
        peak = max(peak, rss_bytes(pid))
        status = (await http.get(f"/api/v1/executions/{execution_id}")).json()["status"]
        if status not in ("queued", "running"):
            break
        await asyncio.sleep(0.02)
    took = time.monotonic() - started
    if follower is not None:
        await follower
    return peak - idle, took


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as data:
        token = await _admin_token(f"sqlite:///{data}/cronium.db")
        server = cronium_process("server", {"CRONIUM_DATA_DIR": data})
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=30
            ) as http:
                await wait_ready(http)
                body = {"name": "flood", "language": "bash", "script": SCRIPT}
                event = (await http.post("/api/v1/events", json=body)).json()
                await one_run(http, server.pid, event["id"], "none")  # warm up
                results: dict[Mode, list[tuple[int, float]]] = {"none": [], "fast": [], "slow": []}
                for _ in range(runs):  # interleaved, so that noise hits all alike
                    for mode in results:
                        results[mode].append(await one_run(http, server.pid, event["id"], mode))
        finally:
            server.terminate()
            server.wait()
    print(f"{'follower':<34} {'peak RSS growth MiB':>20} {'run s':>7} {'ratio':>6}")
    base = statistics.median(took for _, took in results["none"])
    labels = {
        "none": "none (baseline)",
        "fast": "one, reading as fast as it can",
        "slow": "one, a line per 10 ms, then gone",
    }
    for mode, rows in results.items():
        growth = statistics.median(g for g, _ in rows) / 2**20
        took = statistics.median(t for _, t in rows)
        print(f"{labels[mode]:<34} {growth:>20.1f} {took:>7.2f} {took / base:>6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
