"""A seccomp filter for native sandboxes, compiled to classic BPF for bubblewrap's ``--seccomp``.

A deny list in the spirit of Docker's default profile: system calls that administer the kernel,
mount file systems, create namespaces, load modules or BPF programs, trace other processes or
change the clock fail with EPERM. io_uring and clone3 fail with ENOSYS, so that programs fall
back to the older interfaces (clone's namespace flags can be checked; clone3's cannot). Any other
architecture than the filter's, and x86_64's x32 ABI, is killed.
"""

from __future__ import annotations

import errno
import platform
import struct
from dataclasses import dataclass

from cronium.errors import SandboxUnavailableError

# struct seccomp_data offsets
NR_OFFSET, ARCH_OFFSET, ARGS_OFFSET = 0, 4, 16
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
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000
CLONE_NAMESPACE_FLAGS |= 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080

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
    "pivot_root",
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
        "clone": 56, "ptrace": 101, "syslog": 103, "uselib": 134, "vhangup": 153,
        "pivot_root": 155, "adjtimex": 159, "acct": 163, "settimeofday": 164, "mount": 165,
        "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170,
        "setdomainname": 171, "iopl": 172, "ioperm": 173, "create_module": 174,
        "init_module": 175, "delete_module": 176, "get_kernel_syms": 177, "query_module": 178,
        "quotactl": 179, "nfsservctl": 180, "lookup_dcookie": 212, "clock_settime": 227,
        "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
        "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303,
        "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310,
        "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320,
        "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435, "mount_setattr": 442,
        "quotactl_fd": 443,
    },
)  # fmt: skip
AARCH64 = Architecture(
    audit_arch=0xC00000B7,
    x32_possible=False,
    numbers={
        "lookup_dcookie": 18, "umount2": 39, "mount": 40, "pivot_root": 41, "vhangup": 58,
        "quotactl": 60, "acct": 89, "unshare": 97, "kexec_load": 104, "init_module": 105,
        "delete_module": 106, "clock_settime": 112, "syslog": 116, "ptrace": 117, "reboot": 142,
        "sethostname": 161, "setdomainname": 162, "settimeofday": 170, "adjtimex": 171,
        "add_key": 217, "request_key": 218, "keyctl": 219, "clone": 220, "swapon": 224,
        "swapoff": 225, "perf_event_open": 241, "fanotify_init": 262, "name_to_handle_at": 264,
        "open_by_handle_at": 265, "clock_adjtime": 266, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "kcmp": 272, "finit_module": 273, "bpf": 280,
        "userfaultfd": 282, "kexec_file_load": 294, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435,
        "mount_setattr": 442, "quotactl_fd": 443,
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
    denied = DENIED + (DENIED_X86_ONLY if arch is X86_64 else [])
    for name in denied:
        program.jump(JEQ_K, arch.numbers[name], "eperm")
    for name in NOT_IMPLEMENTED:
        program.jump(JEQ_K, arch.numbers[name], "enosys")
    program.jump(JEQ_K, arch.numbers["clone"], "clone")
    program.ret(RET_ALLOW)
    program.label("clone")
    program.load(ARGS_OFFSET)  # the low 32 bits of clone's flags (little endian)
    program.jump(JSET_K, CLONE_NAMESPACE_FLAGS, "eperm")
    program.ret(RET_ALLOW)
    program.label("eperm")
    program.ret(RET_ERRNO | errno.EPERM)
    program.label("enosys")
    program.ret(RET_ERRNO | errno.ENOSYS)
    program.label("kill")
    program.ret(RET_KILL_PROCESS)
    return program.assemble()


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
