"""cgroups (sandbox/cgroups.py): mounts parsing for v1 and v2, and the v2 files."""

from __future__ import annotations

from pathlib import Path

from cronium.sandbox import cgroups

MOUNTINFO = """\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
"""


def test_mounts_are_parsed_for_v1_and_v2() -> None:
    v1, v2 = cgroups.parse_mounts(MOUNTINFO)
    assert v1 == {
        "memory": Path("/sys/fs/cgroup/memory"),
        "pids": Path("/sys/fs/cgroup/pids"),
        "cpu": Path("/sys/fs/cgroup/cpu,cpuacct"),
        "cpuacct": Path("/sys/fs/cgroup/cpu,cpuacct"),
    }
    assert v2 == Path("/sys/fs/cgroup/unified")


def test_cgroup_v2_limits_and_stats_use_the_unified_files(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    tree = cgroups.CgroupTreeV2(tmp_path)
    tree.prepare()
    assert (tmp_path / "cronium" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    cgroup = tree.create("1-2-3")
    directory = tmp_path / "cronium" / "1-2-3"
    (directory / "memory.swap.max").write_text("max")
    cgroup.set_limits(cpus=0.5, memory_bytes=64 * 1024 * 1024, pids=10)
    assert (directory / "memory.max").read_text() == str(64 * 1024 * 1024)
    assert (directory / "memory.swap.max").read_text() == "0"
    assert (directory / "cpu.max").read_text() == "50000 100000"
    assert (directory / "pids.max").read_text() == "10"
    (directory / "memory.peak").write_text("12345\n")
    (directory / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\n")
    (directory / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cgroup.stats() == cgroups.CgroupStats(12345, 1.5, 1)
    assert tree.names() == ["1-2-3"]
