"""How long a trivial script takes, bare and in each sandbox (not a test).

For trivial bash, python and node scripts: the bare interpreter, the ``native`` backend, the
``docker`` backend and the ``docker run --rm`` command, all in one run. Each sandbox is
interleaved with the bare interpreter so that the machine's noise hits them alike; native and
docker are measured in separate phases (each with its own bare baseline). Prints medians and
p95s of N runs with ratios to the bare interpreter (and docker's to ``docker run``), and writes
bench/results/sandbox_start.json.

    .venv/bin/python bench/sandbox_start.py [--runs 30] [--skip-docker]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
    # The same clean environment the sandboxes get: inherited variables (NODE_EXTRA_CA_CERTS,
    # say) can change an interpreter's start-up time.
    environment = SandboxSpec(execution_id=1, language=language, script="").environment()
    process = await asyncio.create_subprocess_exec(
        str(INTERPRETERS[language]),
        str(script),
        stdin=subprocess.DEVNULL,
        env={**environment, "HOME": str(script.parent)},
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
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--memory",
        "512m",
        "--memory-swap",
        "512m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "100",
        "--user",
        "1000:1000",
        "--tmpfs",
        "/tmp:size=100m,mode=1777",
        "--tmpfs",
        "/workspace:size=500m",
        "-v",
        f"{bundle}:/run/cronium:ro",
        runner_image(language),
        DOCKER_INTERPRETERS[language],
        f"/run/cronium/{name}",
        stdout=subprocess.DEVNULL,
    )
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


def write_script(workdir: Path, language: Language) -> Path:
    """The trivial script in its own world-readable directory (docker run mounts it)."""
    bundle = workdir / language.value
    bundle.mkdir(mode=0o755)
    script = bundle / SCRIPT_NAMES[language]
    script.write_text(SCRIPTS[language])
    script.chmod(0o644)
    return script


def phases(
    language: Language, script: Path, native: NativeBackend, docker: DockerBackend | None
) -> list[dict[str, Measure]]:
    """Groups measured apart: Docker's background work after each container would otherwise
    slow down the native runs interleaved with it."""
    groups: list[dict[str, Measure]] = [
        {"bare": lambda: bare(language, script), "native": lambda: in_backend(native, language)}
    ]
    if docker is not None:
        groups.append(
            {
                "bare": lambda: bare(language, script),
                "docker": lambda: in_backend(docker, language),
                "docker run": lambda: docker_cli(language, script.parent),
            }
        )
    return groups


def report(results: dict[str, list[dict[str, list[float]]]]) -> None:
    header = f"{'language':<8} {'method':<11} {'median ms':>10} {'p95 ms':>9} {'x bare':>8}"
    print(header + f" {'+ms bare':>9} {'x docker run':>13}")
    for language, groups in results.items():
        for timings in groups:
            base = statistics.median(timings["bare"])
            cli = statistics.median(timings["docker run"]) if "docker run" in timings else None
            for method, values in timings.items():
                median = statistics.median(values)
                versus = f"{median / cli:13.2f}" if cli and method.startswith("docker") else ""
                print(
                    f"{language:<8} {method:<11} {median:10.1f} {percentile(values, 0.95):9.1f} "
                    f"{median / base:8.2f} {median - base:9.1f} {versus:>13}"
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
    results: dict[str, list[dict[str, list[float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as workdir:
        os.chmod(workdir, 0o755)
        for language in Language:
            script = write_script(Path(workdir), language)
            groups = phases(language, script, native, docker)
            results[language.value] = [await measure(group, arguments.runs) for group in groups]
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sandbox_start.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
