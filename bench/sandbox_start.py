"""How long a trivial script takes, bare and in each sandbox (not a test).

For trivial bash, python and node scripts: the bare interpreter, the ``native`` backend, the
``docker`` backend and the ``docker run --rm`` command, all in one run and interleaved, so that
the machine's noise hits them alike. Prints medians and p95s of N runs with ratios to the bare
interpreter (and docker's to ``docker run``), and writes bench/results/sandbox_start.json.

    .venv/bin/python bench/sandbox_start.py [--runs 30] [--skip-docker]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cronium.domain.event import Language
from cronium.images import runner_image
from cronium.sandbox.docker import INTERPRETERS as DOCKER_INTERPRETERS
from cronium.sandbox.docker import DockerBackend
from cronium.sandbox.native import INTERPRETERS, NativeBackend
from cronium.sandbox.spec import SCRIPT_NAMES, OutputLine, SandboxBackend, SandboxSpec

SCRIPTS = {
    Language.BASH: "true",
    Language.PYTHON: "pass",
    Language.NODE: "0",
}
RESULTS = Path(__file__).parent / "results"
Measure = Callable[[], Awaitable[None]]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def bare(language: Language, script: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(INTERPRETERS[language]), str(script), stdin=subprocess.DEVNULL
    )
    if await process.wait() != 0:
        raise RuntimeError("the bare interpreter failed")


async def in_backend(backend: SandboxBackend, language: Language) -> None:
    lines: list[OutputLine] = []
    spec = SandboxSpec(execution_id=1, language=language, script=SCRIPTS[language])
    result = await backend.run(spec, lines.append)
    if result.exit_code != 0:
        raise RuntimeError(f"{backend.name} failed: {[line.text for line in lines]}")


async def docker_cli(language: Language, bundle: Path) -> None:
    name = SCRIPT_NAMES[language]
    process = await asyncio.create_subprocess_exec(
        "docker", "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--memory", "512m", "--memory-swap", "512m",
        "--cpus", "0.5", "--pids-limit", "100", "--user", "1000:1000",
        "--tmpfs", "/tmp:size=100m,mode=1777", "--tmpfs", "/workspace:size=500m",
        "-v", f"{bundle}:/run/cronium:ro", runner_image(language),
        DOCKER_INTERPRETERS[language], f"/run/cronium/{name}",
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    if await process.wait() != 0:
        raise RuntimeError("docker run failed")


async def measure(methods: dict[str, Measure], runs: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in methods}
    for method in methods.values():  # one warm-up each
        await method()
    for _ in range(runs):
        for name, method in methods.items():
            started = time.perf_counter()
            await method()
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def methods_for(
    language: Language, workdir: Path, native: NativeBackend, docker: DockerBackend | None
) -> dict[str, Measure]:
    bundle = workdir / language.value
    bundle.mkdir(mode=0o755)
    script = bundle / SCRIPT_NAMES[language]
    script.write_text(SCRIPTS[language])
    script.chmod(0o644)
    methods: dict[str, Measure] = {
        "bare": lambda: bare(language, script),
        "native": lambda: in_backend(native, language),
    }
    if docker is not None:
        methods["docker"] = lambda: in_backend(docker, language)
        methods["docker run"] = lambda: docker_cli(language, bundle)
    return methods


def report(results: dict[str, dict[str, list[float]]]) -> None:
    header = f"{'language':<8} {'method':<11} {'median ms':>10} {'p95 ms':>9} {'x bare':>8}"
    print(header + f" {'+ms bare':>9} {'x docker run':>13}")
    for language, timings in results.items():
        base = statistics.median(timings["bare"])
        cli = statistics.median(timings["docker run"]) if "docker run" in timings else None
        for method, values in timings.items():
            median = statistics.median(values)
            versus_cli = f"{median / cli:13.2f}" if cli and method.startswith("docker") else ""
            print(
                f"{language:<8} {method:<11} {median:10.1f} {percentile(values, 0.95):9.1f} "
                f"{median / base:8.2f} {median - base:9.1f} {versus_cli:>13}"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-docker", action="store_true")
    arguments = parser.parse_args()
    native = NativeBackend()
    native.check()
    docker = None if arguments.skip_docker else DockerBackend()
    if docker is not None:
        docker.check()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as workdir:
        Path(workdir).chmod(0o755)
        for language in Language:
            methods = methods_for(language, Path(workdir), native, docker)
            results[language.value] = await measure(methods, arguments.runs)
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sandbox_start.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
