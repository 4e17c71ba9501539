"""Every backend fills a real run's resource usage: its peak memory and its CPU seconds (the
native and docker backends from the run's cgroup, v1 or v2; local-insecure from the resource
usage of the script's process tree), and its setup, run and cleanup times. (HTTP-request
events leave the memory and CPU None: nothing runs in a sandbox.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from cronium.domain.event import Language
from cronium.errors import SandboxUnavailableError
from cronium.sandbox import cgroups, create_backend
from cronium.sandbox.spec import OutputLine, SandboxBackend
from tests.backends import missing
from tests.factories import sandbox_spec

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024
# holds 48 MiB (touched, so resident) and burns a little CPU
HUNGRY = """
block = bytearray(48 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
total = sum(range(3_000_000))
print(len(block), total > 0)
"""


@pytest.fixture(scope="module", params=["native", "docker", "local-insecure"])
def backend(request: pytest.FixtureRequest) -> SandboxBackend:
    try:
        return create_backend(request.param)
    except SandboxUnavailableError as exc:
        missing(f"the {request.param} sandbox backend is not available here: {exc}")
        raise


async def test_a_run_reports_its_peak_memory_cpu_and_step_times(backend: SandboxBackend) -> None:
    lines: list[OutputLine] = []
    spec = sandbox_spec(HUNGRY, Language.PYTHON, memory_mb=256, timeout_seconds=60)
    result = await backend.run(spec, lines.append)
    assert result.exit_code == 0, [line.text for line in lines]
    assert result.peak_memory_bytes is not None
    assert result.peak_memory_bytes >= 40 * MIB
    assert result.cpu_seconds is not None
    assert result.cpu_seconds > 0
    assert result.setup_seconds is not None
    assert result.cleanup_seconds is not None
    assert result.run_seconds > 0


async def test_a_killed_run_still_reports_what_it_could(backend: SandboxBackend) -> None:
    spec = sandbox_spec("sleep 30", timeout_seconds=0.5, grace_seconds=1.0)
    result = await backend.run(spec, lambda line: None)
    assert result.timed_out
    assert result.run_seconds > 0


def test_cgroup_v1_stats_come_from_the_memory_and_cpuacct_files(tmp_path: Path) -> None:
    directories = {name: tmp_path / name for name in cgroups.V1_CONTROLLERS}
    for directory in directories.values():
        directory.mkdir()
    (directories["memory"] / "memory.max_usage_in_bytes").write_text(f"{50 * MIB}\n")
    (directories["memory"] / "memory.oom_control").write_text("oom_kill_disable 0\noom_kill 2\n")
    (directories["cpuacct"] / "cpuacct.usage").write_text("2500000000\n")
    cgroup = cgroups.CgroupV1("run", directories)
    assert cgroup.stats() == cgroups.CgroupStats(50 * MIB, 2.5, 2)
