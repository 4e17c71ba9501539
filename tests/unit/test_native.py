"""The native backend's pure pieces (sandbox/native.py): its command line, /proc masks, the
prepared /etc and root file system."""

from __future__ import annotations

import os
from pathlib import Path

from cronium.domain.event import Language
from cronium.sandbox.native import (
    DataFiles,
    build_command,
    prepare_etc,
    proc_masks,
    root_filesystem,
)
from tests.factories import sandbox_spec

FILES = DataFiles(script=10, seccomp=14)


def command(**spec_options: object) -> list[str]:
    spec = sandbox_spec("x", Language.PYTHON, execution_id=5, **spec_options)
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
    spec = sandbox_spec("x", execution_id=5, token="t")
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
    spec = sandbox_spec("x", execution_id=5, input={"a": 1})
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
