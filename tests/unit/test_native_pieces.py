"""Pure pieces of the native backend: command line, mounts parsing, cgroup v2 files, seccomp."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from cronium.domain.event import Language, ResourceLimits
from cronium.sandbox import cgroups
from cronium.sandbox.native import (
    DataFiles,
    build_command,
    prepare_etc,
    proc_masks,
    root_filesystem,
)
from cronium.sandbox.seccomp import AARCH64, X86_64, build_filter
from cronium.sandbox.spec import SandboxSpec

FILES = DataFiles(script=10, seccomp=14)


def command(**spec_options: object) -> list[str]:
    spec = SandboxSpec(execution_id=5, language=Language.PYTHON, script="x", **spec_options)  # type: ignore[arg-type]
    return build_command(
        spec,
        files=FILES,
        info_fd=20,
        block_fd=21,
        system=["--ro-bind", "/usr", "/usr"],
        prepared=Path("/run/prepared"),
    )


def pairs(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


def test_the_command_isolates_everything_and_runs_the_script_file() -> None:
    args = command()
    for flag in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"):
        assert flag in args
    assert "--share-net" not in args
    assert pairs(args, "--uid") == ["1000"]
    assert pairs(args, "--gid") == ["1000"]
    assert pairs(args, "--remount-ro") == ["/"]
    assert pairs(args, "--seccomp") == ["14"]
    assert pairs(args, "--tmpfs") == ["/dev", "/tmp", "/workspace"]
    assert pairs(args, "--size")[1:] == [str(100 * 1024 * 1024), str(500 * 1024 * 1024)]
    etc = args.index("/run/prepared/etc")
    assert args[etc - 1 : etc + 2] == ["--ro-bind", "/run/prepared/etc", "/etc"]
    helpers = args.index("/run/prepared/helpers")
    assert args[helpers - 1 : helpers + 2] == ["--ro-bind", "/run/prepared/helpers", "/opt/cronium"]
    assert pairs(args, "--chdir") == ["/workspace"]
    assert args[args.index("10") - 1 :][:3] == ["--ro-bind-data", "10", "/run/cronium/script.py"]
    assert "--" not in args  # the command comes after them, on bubblewrap's own command line


def test_the_token_is_a_file_only_the_sandbox_user_reads() -> None:
    spec = SandboxSpec(execution_id=5, language=Language.BASH, script="x", token="t")
    args = build_command(
        spec,
        files=DataFiles(script=10, seccomp=14, token=16),
        info_fd=20,
        block_fd=21,
        system=[],
        prepared=Path("/prepared"),
    )
    at = args.index("16")
    assert args[at - 3 : at + 2] == [
        "--perms",
        "0400",
        "--ro-bind-data",
        "16",
        "/run/cronium/token",
    ]
    assert "t" not in args
    assert "CRONIUM_EXECUTION_TOKEN" not in spec.environment()
    assert spec.environment()["CRONIUM_EXECUTION_TOKEN_FILE"] == "/run/cronium/token"


def test_proc_is_masked_like_docker_masks_it(tmp_path: Path) -> None:
    (tmp_path / "kcore").write_text("")
    (tmp_path / "partitions").write_text("")
    (tmp_path / "acpi").mkdir()
    args = proc_masks(tmp_path)
    assert args == [
        "--ro-bind", "/dev/null", "/proc/kcore",
        "--ro-bind", "/dev/null", "/proc/partitions",
        "--perms", "0555", "--tmpfs", "/proc/acpi",
        "--ro-bind", "/proc/sys", "/proc/sys",
    ]  # fmt: skip


def test_egress_shares_the_network() -> None:
    assert "--share-net" in command(network="egress")


def test_input_is_delivered_as_a_file_when_there_is_one() -> None:
    spec = SandboxSpec(execution_id=5, language=Language.BASH, script="x", input={"a": 1})
    args = build_command(
        spec,
        files=DataFiles(script=10, seccomp=14, input=15),
        info_fd=20,
        block_fd=21,
        system=[],
        prepared=Path("/prepared"),
    )
    assert args[args.index("15") - 1 :][:3] == ["--ro-bind-data", "15", "/run/cronium/input.json"]


def test_the_prepared_etc_has_the_sandbox_user_and_no_secrets(tmp_path: Path) -> None:
    host = tmp_path / "host"
    (host / "ssl" / "certs").mkdir(parents=True)
    (host / "ssl" / "private").mkdir()
    (host / "ssl" / "private" / "key.pem").write_text("secret")
    (host / "ssl" / "certs" / "ca.pem").write_text("public")
    (host / "shadow").write_text("root:hash")
    (host / "localtime").symlink_to("/usr/share/zoneinfo/Etc/UTC")
    etc = prepare_etc(tmp_path / "etc", 1000, 1000, host)
    assert "cronium:x:1000:1000:" in (etc / "passwd").read_text()
    assert (etc / "ssl" / "certs" / "ca.pem").read_text() == "public"
    assert not (etc / "ssl" / "private").exists()
    assert not (etc / "shadow").exists()
    assert os.readlink(etc / "localtime") == "/usr/share/zoneinfo/Etc/UTC"


def test_the_root_file_system_follows_merged_usr(tmp_path: Path) -> None:
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "bin").symlink_to("usr/bin")
    (tmp_path / "lib").mkdir()
    args = root_filesystem(tmp_path)
    assert args[:3] == ["--ro-bind", str(tmp_path / "usr"), "/usr"]
    assert args[3:6] == ["--symlink", "usr/bin", "/bin"]
    assert ["--ro-bind", str(tmp_path / "lib"), "/lib"] == args[6:9]


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


def test_the_seccomp_filters_are_well_formed_programs() -> None:
    for arch in (X86_64, AARCH64):
        program = build_filter(arch)
        assert len(program) % 8 == 0
        instructions = [
            struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)
        ]
        assert instructions[0] == (0x20, 0, 0, 4)  # load the architecture first
        assert instructions[1][3] == arch.audit_arch
        assert instructions[-1] == (0x06, 0, 0, 0x80000000)  # kill for a foreign architecture
        for index, (code, jt, jf, _) in enumerate(instructions):
            if code & 0x07 == 0x05:  # jumps stay inside the program
                assert index + 1 + max(jt, jf) < len(instructions)


def test_limits_default_to_the_security_table() -> None:
    assert ResourceLimits() == ResourceLimits(
        timeout_seconds=300, cpus=0.5, memory_mb=512, pids=100
    )
