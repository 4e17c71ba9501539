"""What masking a run owner's secrets costs (not a test).

1. Per line: ``Masker.text`` on a 100-byte line and a 64 KiB line, for 1, 10, 64 and 500
   secrets, against a plain longest-first alternation of the same values (the baseline,
   measured in the same run).
2. End to end: ``seq 100000`` through a real worker on SQLite in the native sandbox, its owner
   having no secrets (the baseline) and 64 secrets (every line then goes through the masker).

Prints medians of N runs and the ratios to the baselines.

    .venv/bin/python bench/masking.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cronium.crypto import Keyring, generate_key, parse_key
from cronium.domain.event import Language, ResourceLimits
from cronium.domain.user import Role
from cronium.domain.variable import VariableChange
from cronium.masking import Masker
from cronium.sandbox.native import NativeBackend
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker

SHORT = "2026-12-03 12:00:00 INFO copied 1024 rows from the source table to the target one, ok"
LONG = (SHORT + " ") * (64 * 1024 // (len(SHORT) + 1))
CALLS = 2000


def values(count: int) -> list[str]:
    """Secrets as tokens and passwords look: 16 characters of letters, digits, - and _."""
    return [secrets.token_urlsafe(12) for _ in range(count)]


def per_call(mask: object, text: str) -> float:
    """Seconds per call of ``mask(text)``, over a bounded loop."""
    calls = CALLS if len(text) < 1000 else CALLS // 50
    started = time.perf_counter()
    for _ in range(calls):
        mask(text)  # type: ignore[operator]
    return (time.perf_counter() - started) / calls


def per_line(runs: int) -> list[tuple[str, int, float, float]]:
    rows = []
    for count in (1, 10, 64, 500):
        kept = values(count)
        masker = Masker(kept)
        plain = re.compile("|".join(re.escape(v) for v in sorted(kept, key=len, reverse=True)))
        for name, text in (("100 B", SHORT), ("64 KiB", LONG)):
            ours, baseline = [], []
            for _ in range(runs):  # interleaved, so that noise hits both alike
                ours.append(per_call(masker.text, text))
                baseline.append(per_call(lambda t, p=plain: p.sub("***", t), text))
            rows.append((name, count, statistics.median(baseline), statistics.median(ours)))
    return rows


async def end_to_end(runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        await migrate(engine)
        store = Store(engine, Keyring(parse_key(generate_key(), "bench")))
        service = Service(store)
        fields = EventFields(
            name="flood",
            language=Language.BASH,
            script="seq 100000",
            env={},
            limits=ResourceLimits(timeout_seconds=300, memory_mb=256),
        )
        plain = await service.accounts.create_user(None, "plain", Role.USER, None)
        keeper = await service.accounts.create_user(None, "keeper", Role.USER, None)
        now = datetime.now(UTC)
        for number, value in enumerate(values(64)):
            change = VariableChange(value, secret=True)
            await store.variables.write(keeper.id, f"s{number}", change, now)
        worker = Worker(store, NativeBackend(), worker_id="bench")
        events = {
            user.name: (user, await service.create_event(user, fields)) for user in (plain, keeper)
        }
        times: dict[str, list[float]] = {"plain": [], "keeper": []}
        for _ in range(runs):
            for name, (user, event) in events.items():
                started = time.perf_counter()
                await service.run_event(user, event.id, None)
                assert await worker.run_once()
                times[name].append(time.perf_counter() - started)
        await engine.dispose()
    return statistics.median(times["plain"]), statistics.median(times["keeper"])


def main(runs: int) -> None:
    print(f"{'line':<8} {'secrets':>7} {'alternation us':>15} {'masker us':>10} {'ratio':>6}")
    for name, count, baseline, ours in per_line(runs):
        print(
            f"{name:<8} {count:>7} {baseline * 1e6:>15.2f} {ours * 1e6:>10.2f} "
            f"{ours / baseline:>6.2f}"
        )
    plain, masked = asyncio.run(end_to_end(runs))
    print()
    print(f"{'seq 100000 through a worker':<34} {'median s':>9} {'lines/s':>10} {'ratio':>6}")
    for label, seconds in (
        ("no secrets (baseline)", plain),
        ("64 secrets, every line masked", masked),
    ):
        print(f"{label:<34} {seconds:>9.3f} {100_000 / seconds:>10,.0f} {seconds / plain:>6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
