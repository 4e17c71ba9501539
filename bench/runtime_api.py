"""Round trips of the runtime helpers from inside a sandbox (not a test).

For each language, a script in a real sandbox, run by a real worker with the runtime API on
SQLite (the embedded defaults), times N calls of ``get_variable`` and, as the baseline measured
in the same run, N calls of ``event()`` (which touches no database), and how long loading the
helper takes. Each script runs R times; the table shows the median of the R medians, the p95
of all calls, and the ratio to ``event()``. Writes bench/results/runtime_api.json.

    .venv/bin/python bench/runtime_api.py [--calls 200] [--runs 5] [--backend native|docker]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from cronium.domain.event import Language, ResourceLimits
from cronium.runtime.server import RuntimeServer
from cronium.sandbox import create_backend
from cronium.service import Service
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker

RESULTS = Path(__file__).parent / "results"

# Each prints one JSON line: {"load": ms, "get_variable": [ms...], "event": [ms...]}
SCRIPTS = {
    Language.PYTHON: """
import json, time
started = time.perf_counter()
import cronium
load = (time.perf_counter() - started) * 1000
def timed(call):
    out = []
    for _ in range(CALLS):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out
cronium.set_variable("bench", 1)
print(json.dumps({"load": load, "get_variable": timed(lambda: cronium.get_variable("bench")),
                  "event": timed(cronium.event)}))
""",
    Language.NODE: """
const started = process.hrtime.bigint();
const cronium = require('cronium');
const load = Number(process.hrtime.bigint() - started) / 1e6;
async function timed(call) {
  const out = [];
  for (let i = 0; i < CALLS; i += 1) {
    const t = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}
(async () => {
  await cronium.setVariable('bench', 1);
  const get = await timed(() => cronium.getVariable('bench'));
  const context = await timed(() => cronium.event());
  console.log(JSON.stringify({ load, get_variable: get, event: context }));
})();
""",
    Language.BASH: """
now() { date +%s%N; }
started=$(now); source /opt/cronium/bash/cronium.sh; load=$(( ($(now) - started) ))
cronium_set_variable bench 1
timed() {
  local i t out=()
  for ((i = 0; i < CALLS; i++)); do
    t=$(now); "$@" >/dev/null; out+=($(( $(now) - t )))
  done
  printf '%s\\n' "${out[@]}" | jq -s 'map(. / 1e6)'
}
get=$(timed cronium_get_variable bench)
context=$(timed cronium_event)
jq -cn --argjson load "$load" --argjson g "$get" --argjson e "$context" \\
  '{load: ($load / 1e6), get_variable: $g, event: $e}'
""",
}
BASH_CALLS = 50  # each bash call starts curl and jq: fewer calls, same statistics


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(backend_name: str, calls: int, runs: int) -> dict[str, list[Any]]:
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as directory:
        url = f"sqlite:///{directory}/cronium.db"
        engine = create_engine(url)
        await migrate(engine)
        store = Store(engine)
        service = Service(store)
        user, _ = await service.accounts.create_admin("bench")
        runtime = RuntimeServer(url)
        await asyncio.to_thread(runtime.start)
        worker = Worker(store, create_backend(backend_name), runtime=runtime)
        results: dict[str, list[Any]] = {language.value: [] for language in SCRIPTS}
        try:
            for language, template in SCRIPTS.items():
                count = BASH_CALLS if language is Language.BASH else calls
                script = template.replace("CALLS", str(count))
                fields = EventFields(
                    name=f"bench-{language}",
                    language=language,
                    script=script,
                    env={},
                    limits=ResourceLimits(timeout_seconds=600, cpus=2.0),
                )
                event = await service.create_event(user, fields)
                for _ in range(runs):
                    execution = await service.run_event(user, event.id)
                    await worker.run_once()
                    lines = [line.line for line in await store.logs.read(execution.id)]
                    results[language.value].append(json.loads(lines[-1]))
        finally:
            await asyncio.to_thread(runtime.stop)
            await engine.dispose()
    return results


def report(results: dict[str, list[Any]]) -> None:
    print(f"{'language':<8} {'call':<13} {'median ms':>10} {'p95 ms':>8} {'x event()':>10}")
    for language, runs in results.items():

        def median_of_medians(call: str, runs: list[Any] = runs) -> float:
            return float(statistics.median(statistics.median(run[call]) for run in runs))

        base = median_of_medians("event")
        for call in ("event", "get_variable"):
            median = median_of_medians(call)
            every = [value for run in runs for value in run[call]]
            print(
                f"{language:<8} {call:<13} {median:10.2f} {percentile(every, 0.95):8.2f} "
                f"{median / base:10.2f}"
            )
        load = statistics.median(run["load"] for run in runs)
        print(f"{language:<8} {'load helper':<13} {load:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default="native", choices=["native", "docker"])
    arguments = parser.parse_args()
    results = asyncio.run(measure(arguments.backend, arguments.calls, arguments.runs))
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "runtime_api.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
