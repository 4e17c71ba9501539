from pathlib import Path

import pytest

from cronium.cli import exit_status
from cronium.domain.event import Language, ResourceLimits
from cronium.sandbox.docker import container_options
from cronium.sandbox.seccomp import docker_profile
from cronium.sandbox.spec import SandboxResult, SandboxSpec


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (SandboxResult(exit_code=0), 0),
        (SandboxResult(exit_code=42), 42),
        (SandboxResult(exit_code=None, timed_out=True), 124),
        (SandboxResult(exit_code=None, signal=9, oom_killed=True), 137),
        (SandboxResult(exit_code=None, cancelled=True), 130),
        (SandboxResult(exit_code=None, signal=15), 143),
    ],
)
def test_cronium_run_exits_with_a_status_that_says_how_the_script_ended(
    result: SandboxResult, status: int
) -> None:
    assert exit_status(result) == status


def test_docker_containers_get_every_promise_of_the_security_table() -> None:
    spec = SandboxSpec(
        execution_id=9,
        language=Language.NODE,
        script="x",
        env={"A": "1"},
        limits=ResourceLimits(cpus=1.5, memory_mb=256, pids=20),
        uid=2_100_000_009,
        gid=2_100_000_009,
    )
    options = container_options(spec, Path("/tmp/bundle"), "/cronium/docker-x")
    assert options["user"] == "2100000009:2100000009"
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges", f"seccomp={docker_profile()}"]
    assert options["read_only"] is True
    assert options["network_mode"] == "none"
    assert (options["mem_limit"], options["memswap_limit"]) == ("256m", "256m")
    assert options["nano_cpus"] == 1_500_000_000
    assert options["pids_limit"] == 20
    assert "size=100m" in options["tmpfs"]["/tmp"]
    assert "size=500m" in options["tmpfs"]["/workspace"]
    assert options["volumes"] == {
        "/tmp/bundle/run": {"bind": "/run/cronium", "mode": "ro"},
        "/tmp/bundle/passwd": {"bind": "/etc/passwd", "mode": "ro"},
        "/tmp/bundle/group": {"bind": "/etc/group", "mode": "ro"},
    }
    assert "uid=2100000009" in options["tmpfs"]["/workspace"]
    assert options["command"] == ["node", "/run/cronium/script.js"]
    assert options["environment"]["A"] == "1"
    assert options["labels"]["cronium.execution"] == "9"
    assert options["cgroup_parent"] == "/cronium/docker-x"
