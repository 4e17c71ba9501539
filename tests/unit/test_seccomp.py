"""The seccomp policy's two forms: the native BPF filter and the Docker profile refuse alike."""

from __future__ import annotations

import errno
import json
import random
import struct
from typing import Any

import pytest

from cronium.sandbox.seccomp import (
    AARCH64,
    ARGUMENT_CHECKS,
    DENIED,
    DENIED_X86_ONLY,
    NOT_IMPLEMENTED,
    X86_64,
    Architecture,
    build_filter,
    docker_profile,
    masked_refusals,
)

CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
# First arguments worth a look: the values checks name, their neighbours, each bit, each bit
# cleared from all ones, and a few with the high word set, which the kernel ignores here.
SAMPLES = sorted(
    {0, 1, 8, 40, 41, 0x400000, 0xFFFFFFFE, 0xFFFFFFFF, SIGCHLD, CLONE_NEWUSER | SIGCHLD}
    | {1 << n for n in range(32)}
    | {0xFFFFFFFF ^ (1 << n) for n in range(32)}
    | {random.Random(13).getrandbits(32) for _ in range(200)}
)
SAMPLES += [(1 << 32) | word for word in (0, 8, 40, 0xFFFFFFFF, CLONE_NEWUSER)]


def profile() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(docker_profile())
    return loaded


def run_filter(program: bytes, arch: int, number: int, first_argument: int) -> int:
    """Run the classic BPF ``program`` (the instructions build_filter emits) on one call."""
    data = struct.pack("=iIQ6Q", number, arch, 0, first_argument, 0, 0, 0, 0, 0)
    accumulator, pc = 0, 0
    while True:
        code, jt, jf, k = struct.unpack_from("=HBBI", program, pc * 8)
        pc += 1
        if code == 0x06:  # ret
            return k
        if code == 0x20:  # ld [k]
            accumulator = struct.unpack_from("=I", data, k)[0]
            continue
        taken = {0x15: accumulator == k, 0x35: accumulator >= k, 0x45: bool(accumulator & k)}
        pc += jt if taken[code] else jf


def native_errno(arch: Architecture, name: str, first_argument: int) -> int | None:
    verdict = run_filter(build_filter(arch), arch.audit_arch, arch.numbers[name], first_argument)
    if verdict == 0x7FFF0000:
        return None
    assert verdict & 0xFFFF0000 == 0x00050000, hex(verdict)
    return verdict & 0xFFFF


def docker_errno(name: str, first_argument: int) -> int | None:
    """What libseccomp makes of the profile: a rule applies when all its conditions hold."""
    for rule in profile()["syscalls"]:
        if name in rule["names"] and all(
            first_argument & condition["value"] == condition["valueTwo"]
            for condition in rule.get("args", [])
        ):
            return int(rule["errnoRet"])
    return None


def test_the_profile_allows_by_default_and_refuses_with_errors() -> None:
    assert profile()["defaultAction"] == "SCMP_ACT_ALLOW"
    assert "architectures" not in profile()  # only the daemon's own is let through
    for rule in profile()["syscalls"]:
        assert rule["action"] == "SCMP_ACT_ERRNO"
        assert set(rule) <= {"names", "action", "errnoRet", "args"}
        indexes = [condition["index"] for condition in rule.get("args", [])]
        assert len(indexes) == len(set(indexes))  # runc would OR conditions on one argument
        for condition in rule.get("args", []):
            assert condition["op"] == "SCMP_CMP_MASKED_EQ"
            assert 0 < condition["value"] <= 0xFFFFFFFF  # the low word only
            assert condition["valueTwo"] & ~condition["value"] == 0


@pytest.mark.parametrize(
    ("name", "error"),
    [
        *((name, errno.EPERM) for name in DENIED + DENIED_X86_ONLY),
        *((name, errno.ENOSYS) for name in NOT_IMPLEMENTED),
    ],
)
def test_the_profile_refuses_what_the_lists_name(name: str, error: int) -> None:
    assert docker_errno(name, 0) == error


def test_ptrace_and_io_uring_are_refused_in_docker() -> None:
    assert docker_errno("ptrace", 0) == errno.EPERM
    assert docker_errno("io_uring_setup", 1) == errno.ENOSYS
    assert docker_errno("clone3", 0) == errno.ENOSYS


@pytest.mark.parametrize("arch", [X86_64, AARCH64], ids=["x86_64", "aarch64"])
@pytest.mark.parametrize(
    "name", sorted({name for check in ARGUMENT_CHECKS for name in check.syscalls})
)
def test_both_forms_check_arguments_alike(arch: Architecture, name: str) -> None:
    for argument in SAMPLES:
        assert native_errno(arch, name, argument) == docker_errno(name, argument), hex(argument)


@pytest.mark.parametrize(
    ("name", "argument", "error"),
    [
        ("socket", 40, errno.EAFNOSUPPORT),
        ("socketpair", 40, errno.EAFNOSUPPORT),
        ("socket", (1 << 32) | 40, errno.EAFNOSUPPORT),
        ("socket", 2, None),
        ("personality", 0, None),
        ("personality", 0xFFFFFFFF, None),
        ("personality", 8, errno.EPERM),
        ("personality", 0x400000, errno.EPERM),
        ("personality", (1 << 32) | 8, errno.EPERM),
        ("clone", SIGCHLD, None),
        ("clone", CLONE_NEWUSER | SIGCHLD, errno.EPERM),
    ],
)
def test_arguments_are_checked_by_their_low_word(
    name: str, argument: int, error: int | None
) -> None:
    assert native_errno(X86_64, name, argument) == error
    assert docker_errno(name, argument) == error


def test_the_refusals_of_personality_are_disjoint_and_miss_only_the_allowed_values() -> None:
    (check,) = (check for check in ARGUMENT_CHECKS if check.syscalls == ("personality",))
    pairs = masked_refusals(check)
    for word in SAMPLES:
        matches = sum(word & mask == value for mask, value in pairs)
        assert matches == (0 if word & 0xFFFFFFFF in check.values else 1), hex(word)


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
