"""Cronium's seccomp policy, compiled for both sandbox backends: to classic BPF for bubblewrap's
``--seccomp`` (native) and to a Docker seccomp profile (docker), so that both refuse the same calls.

A deny list in the spirit of Docker's default profile: system calls that administer the kernel,
mount file systems, create namespaces, load modules or BPF programs, trace other processes or
change the clock fail with EPERM. io_uring and clone3 fail with ENOSYS, so that programs fall
back to the older interfaces (clone's namespace flags can be checked; clone3's cannot). Three
more are refused by their first argument (:data:`ARGUMENT_CHECKS`): clone with a namespace flag,
socket and socketpair for AF_VSOCK (which reaches the hypervisor, past the network namespace)
and personality with anything but PER_LINUX or the query 0xffffffff. The native filter kills any
other architecture than its own, and x86_64's x32 ABI; so does the Docker profile, which names
no other architecture.
"""

from __future__ import annotations

import enum
import errno
import functools
import json
import operator
import platform
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from cronium.errors import SandboxUnavailableError

# struct seccomp_data offsets; args[0]'s low 32 bits come first on both little-endian architectures
NR_OFFSET, ARCH_OFFSET, ARG0_LOW_OFFSET = 0, 4, 16
# classic BPF opcodes
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
RET_K = 0x06
# seccomp return values
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
CLONE_NAMESPACE_FLAGS = (
    0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080,
)  # fmt: skip
AF_VSOCK = 40
PER_LINUX, PERSONALITY_QUERY = 0, 0xFFFFFFFF
LOW_WORD = 0xFFFFFFFF

DENIED = [
    "acct",
    "add_key",
    "adjtimex",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "delete_module",
    "fanotify_init",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "init_module",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pidfd_getfd",
    "pivot_root",
    "process_madvise",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "setdomainname",
    "sethostname",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "syslog",
    "umount2",
    "unshare",
    "userfaultfd",
    "vhangup",
]
DENIED_X86_ONLY = [
    "iopl",
    "ioperm",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "uselib",
    "nfsservctl",
]
NOT_IMPLEMENTED = ["io_uring_setup", "io_uring_enter", "io_uring_register", "clone3"]


class Refused(enum.Enum):
    """When an argument check refuses a call, by its first argument's low 32 bits."""

    WITH_A_BIT_OF = "with a bit of"  # any bit of any of the values is set
    WITH_ONE_OF = "with one of"  # it is one of the values
    WITH_NONE_OF = "with none of"  # it is none of the values


@dataclass(frozen=True, slots=True)
class ArgumentCheck:
    """``syscalls`` fail with ``error`` when their first argument is ``refused`` ``values``.

    Only the argument's low 32 bits are compared: the kernel reads these arguments as 32-bit
    integers (clone's flags, socket's int family, personality's unsigned int) and ignores the
    rest, so high bits neither get a call past its check nor get an allowed one refused.
    """

    syscalls: tuple[str, ...]
    error: int
    refused: Refused
    values: tuple[int, ...]


ARGUMENT_CHECKS = [
    ArgumentCheck(("clone",), errno.EPERM, Refused.WITH_A_BIT_OF, CLONE_NAMESPACE_FLAGS),
    ArgumentCheck(("socket", "socketpair"), errno.EAFNOSUPPORT, Refused.WITH_ONE_OF, (AF_VSOCK,)),
    ArgumentCheck(
        ("personality",), errno.EPERM, Refused.WITH_NONE_OF, (PER_LINUX, PERSONALITY_QUERY)
    ),
]


@dataclass(frozen=True, slots=True)
class Architecture:
    audit_arch: int
    numbers: dict[str, int]
    x32_possible: bool


# From the kernel's headers: asm/unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
X86_64 = Architecture(
    audit_arch=0xC000003E,
    x32_possible=True,
    numbers={
        "socket": 41, "socketpair": 53, "clone": 56, "ptrace": 101, "syslog": 103, "uselib": 134,
        "personality": 135, "vhangup": 153, "pivot_root": 155, "adjtimex": 159, "acct": 163,
        "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
        "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
        "create_module": 174, "init_module": 175, "delete_module": 176, "get_kernel_syms": 177,
        "query_module": 178, "quotactl": 179, "nfsservctl": 180, "lookup_dcookie": 212,
        "clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
        "unshare": 272, "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303,
        "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310,
        "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320,
        "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435, "pidfd_getfd": 438,
        "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443,
    },
)  # fmt: skip
AARCH64 = Architecture(
    audit_arch=0xC00000B7,
    x32_possible=False,
    numbers={
        "lookup_dcookie": 18, "umount2": 39, "mount": 40, "pivot_root": 41, "vhangup": 58,
        "quotactl": 60, "acct": 89, "personality": 92, "unshare": 97, "kexec_load": 104,
        "init_module": 105, "delete_module": 106, "clock_settime": 112, "syslog": 116,
        "ptrace": 117, "reboot": 142, "sethostname": 161, "setdomainname": 162, "settimeofday": 170,
        "adjtimex": 171, "socket": 198, "socketpair": 199, "add_key": 217, "request_key": 218,
        "keyctl": 219, "clone": 220, "swapon": 224, "swapoff": 225, "perf_event_open": 241,
        "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
        "clock_adjtime": 266, "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271,
        "kcmp": 272, "finit_module": 273, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "clone3": 435, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
        "quotactl_fd": 443,
    },
)  # fmt: skip
ARCHITECTURES = {"x86_64": X86_64, "aarch64": AARCH64}


class Program:
    """Classic BPF instructions with forward jumps to named labels."""

    def __init__(self) -> None:
        self.instructions: list[tuple[int, str | int, str | int, int]] = []
        self.labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self.instructions.append((LD_W_ABS, 0, 0, offset))

    def jump(self, opcode: int, value: int, if_true: str | int, if_false: str | int = 0) -> None:
        self.instructions.append((opcode, if_true, if_false, value))

    def ret(self, value: int) -> None:
        self.instructions.append((RET_K, 0, 0, value))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.instructions)

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, if_true, if_false, k) in enumerate(self.instructions):
            jt, jf = (self._offset(index, target) for target in (if_true, if_false))
            out += struct.pack("=HBBI", code, jt, jf, k)
        return bytes(out)

    def _offset(self, index: int, target: str | int) -> int:
        if isinstance(target, int):
            return target
        offset = self.labels[target] - index - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"jump to {target} out of range")
        return offset


def build_filter(arch: Architecture) -> bytes:
    """The compiled filter for ``arch``."""
    program = Program()
    program.load(ARCH_OFFSET)
    program.jump(JEQ_K, arch.audit_arch, 0, "kill")
    program.load(NR_OFFSET)
    if arch.x32_possible:
        program.jump(JGE_K, X32_SYSCALL_BIT, "kill")
    for name in denied_on(arch):
        program.jump(JEQ_K, arch.numbers[name], _refusal(errno.EPERM))
    for name in NOT_IMPLEMENTED:
        program.jump(JEQ_K, arch.numbers[name], _refusal(errno.ENOSYS))
    for index, check in enumerate(ARGUMENT_CHECKS):
        for name in check.syscalls:
            program.jump(JEQ_K, arch.numbers[name], f"check {index}")
    program.ret(RET_ALLOW)
    for index, check in enumerate(ARGUMENT_CHECKS):
        program.label(f"check {index}")
        _compile_check(program, check)
    program.label("allow")
    program.ret(RET_ALLOW)
    for error in sorted({errno.EPERM, errno.ENOSYS} | {c.error for c in ARGUMENT_CHECKS}):
        program.label(_refusal(error))
        program.ret(RET_ERRNO | error)
    program.label("kill")
    program.ret(RET_KILL_PROCESS)
    return program.assemble()


def denied_on(arch: Architecture) -> list[str]:
    """The system calls that fail with EPERM whatever their arguments, on ``arch``."""
    return DENIED + (DENIED_X86_ONLY if arch is X86_64 else [])


def _compile_check(program: Program, check: ArgumentCheck) -> None:
    refused = _refusal(check.error)
    program.load(ARG0_LOW_OFFSET)
    if check.refused is Refused.WITH_A_BIT_OF:
        program.jump(JSET_K, functools.reduce(operator.or_, check.values), refused)
        program.ret(RET_ALLOW)
    elif check.refused is Refused.WITH_ONE_OF:
        for value in check.values:
            program.jump(JEQ_K, value, refused)
        program.ret(RET_ALLOW)
    else:
        for value in check.values:
            program.jump(JEQ_K, value, "allow")
        program.ret(RET_ERRNO | check.error)


def _refusal(error: int) -> str:
    return f"errno {error}"


def filter_for_this_machine() -> bytes:
    """The compiled filter for the running architecture, or SandboxUnavailableError."""
    machine = platform.machine()
    arch = ARCHITECTURES.get(machine)
    if arch is None:
        raise SandboxUnavailableError(
            f"the native backend has no seccomp filter for {machine}: "
            f"it supports {', '.join(ARCHITECTURES)}; use the docker backend here"
        )
    return build_filter(arch)


@functools.cache
def docker_profile() -> str:
    """The same policy as a Docker seccomp profile (JSON, for ``--security-opt seccomp=``).

    It allows by default and lists what is refused, by name: libseccomp resolves the names for
    the daemon's architecture (and skips those it does not have there, such as x86's on
    aarch64). It names no architecture, so only the native one is let through.
    """
    rules: list[dict[str, object]] = [
        _docker_rule(DENIED + DENIED_X86_ONLY, errno.EPERM),
        _docker_rule(NOT_IMPLEMENTED, errno.ENOSYS),
    ]
    for check in ARGUMENT_CHECKS:
        for mask, value in masked_refusals(check):
            condition = {"index": 0, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"}
            rules.append(_docker_rule(list(check.syscalls), check.error) | {"args": [condition]})
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})


def masked_refusals(check: ArgumentCheck) -> list[tuple[int, int]]:
    """``check`` as ``(mask, value)`` pairs: a call is refused when, for one of them, its first
    argument ANDed with ``mask`` is ``value``.

    Docker's profiles need this form: runc makes separate rules, which libseccomp ORs, of the
    conditions of one rule that compare the same argument. A mask within the low 32 bits also
    compares only them, where SCMP_CMP_EQ would compare all 64 (so that socket((1 << 32) | 40)
    would pass it, though the kernel reads AF_VSOCK).
    """
    if check.refused is Refused.WITH_A_BIT_OF:
        bits = functools.reduce(operator.or_, check.values)
        return [(1 << n, 1 << n) for n in range(32) if bits >> n & 1]
    if check.refused is Refused.WITH_ONE_OF:
        return [(LOW_WORD, value) for value in check.values]
    return list(_words_outside(set(check.values), 1 << 31, 0, 0))


def _words_outside(kept: set[int], bit: int, mask: int, value: int) -> Iterator[tuple[int, int]]:
    """Disjoint ``(mask, value)`` pairs matching every 32-bit word that agrees with ``value``
    on ``mask`` and is not in ``kept`` (a walk down the binary tree of ``kept``)."""
    mask |= bit
    for half in (value, value | bit):
        inside = {word for word in kept if word & mask == half}
        if not inside:
            yield mask, half
        elif bit > 1:
            yield from _words_outside(inside, bit >> 1, mask, half)


def _docker_rule(names: list[str], error: int) -> dict[str, object]:
    return {"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": error}
