"""Control groups for native sandboxes, on cgroup v1 (and hybrid) and v2 hosts.

Every sandbox gets a fresh cgroup named ``<worker pid>-<execution id>-<n>`` under ``cronium/``
in each hierarchy it needs (memory, pids, cpu, cpuacct on v1; the unified tree on v2). Fresh
cgroups are cheap (well under a millisecond here) and start with clean counters, so peak
memory, CPU time and OOM kills are the sandbox's own. A cgroup whose worker is gone is a
leftover: the next worker on the host kills what is in it and removes it.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from cronium.errors import SandboxError, SandboxUnavailableError

BASE = "cronium"
CPU_PERIOD_US = 100_000
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
KILL_ROUNDS = 200


@dataclass(frozen=True, slots=True)
class CgroupStats:
    """What a sandbox's processes used."""

    peak_memory_bytes: int | None
    cpu_seconds: float | None
    oom_kills: int


def _write(path: Path, value: str) -> None:
    with open(path, "w") as file:
        file.write(value)


def _read(path: Path) -> str:
    with open(path) as file:
        return file.read()


def _keyed(path: Path, key: str) -> int | None:
    """The value of ``key`` in a flat-keyed cgroup file (``key value`` per line)."""
    with contextlib.suppress(FileNotFoundError):
        for line in _read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return None


def _optional_int(path: Path) -> int | None:
    try:
        return int(_read(path))
    except (FileNotFoundError, ValueError):
        return None


class Cgroup(abc.ABC):
    """One sandbox's cgroup (in each hierarchy it needs)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abc.abstractmethod
    def set_limits(self, *, cpus: float, memory_bytes: int, pids: int) -> None:
        """CPU quota, memory without swap, and the most processes."""

    @abc.abstractmethod
    def add_process(self, pid: int) -> None:
        """Move ``pid`` (and the threads of its process) into the cgroup."""

    @abc.abstractmethod
    def processes(self) -> list[int]:
        """Every process in the cgroup."""

    @abc.abstractmethod
    def stats(self) -> CgroupStats:
        """Peak memory, CPU time and OOM kills so far."""

    @abc.abstractmethod
    def _directories(self) -> list[Path]:
        """The cgroup's directory in each hierarchy."""

    def signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to every process in the cgroup."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def kill_all(self) -> None:
        """SIGKILL every process until none is left (new ones may appear while killing)."""
        for _ in range(KILL_ROUNDS):
            if not self.processes():
                return
            self.signal(signal.SIGKILL)
            time.sleep(0.001)
        raise SandboxError(f"cgroup {self.name} still has processes after {KILL_ROUNDS} rounds")

    def remove(self) -> None:
        """Kill what is left and remove the cgroup's directories."""
        self.kill_all()
        for directory in self._directories():
            _rmdir(directory)


def _rmdir(directory: Path) -> None:
    # A cgroup whose last process just died can be busy for a moment.
    for attempt in range(100):
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == 99:
                raise SandboxError(f"cannot remove cgroup {directory}: {exc.strerror}") from exc
            time.sleep(0.002)


class CgroupV1(Cgroup):
    def __init__(self, name: str, directories: dict[str, Path]) -> None:
        super().__init__(name)
        self.dirs = directories

    def set_limits(self, *, cpus: float, memory_bytes: int, pids: int) -> None:
        memory = self.dirs["memory"]
        _write(memory / "memory.limit_in_bytes", str(memory_bytes))
        swap_limit = memory / "memory.memsw.limit_in_bytes"
        if swap_limit.exists():
            _write(swap_limit, str(memory_bytes))  # memory + swap = memory: no swap
        else:
            _write(memory / "memory.swappiness", "0")
        _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(max(1000, int(cpus * CPU_PERIOD_US))))
        _write(self.dirs["pids"] / "pids.max", str(pids))

    def add_process(self, pid: int) -> None:
        for directory in self._directories():
            _write(directory / "cgroup.procs", str(pid))

    def processes(self) -> list[int]:
        try:
            return [int(pid) for pid in _read(self.dirs["pids"] / "cgroup.procs").split()]
        except FileNotFoundError:
            return []

    def stats(self) -> CgroupStats:
        usage_ns = _optional_int(self.dirs["cpuacct"] / "cpuacct.usage")
        return CgroupStats(
            peak_memory_bytes=_optional_int(self.dirs["memory"] / "memory.max_usage_in_bytes"),
            cpu_seconds=None if usage_ns is None else usage_ns / 1e9,
            oom_kills=_keyed(self.dirs["memory"] / "memory.oom_control", "oom_kill") or 0,
        )

    def _directories(self) -> list[Path]:
        return list(dict.fromkeys(self.dirs.values()))  # cpu and cpuacct may be one directory


class CgroupV2(Cgroup):
    def __init__(self, name: str, directory: Path) -> None:
        super().__init__(name)
        self.dir = directory

    def set_limits(self, *, cpus: float, memory_bytes: int, pids: int) -> None:
        _write(self.dir / "memory.max", str(memory_bytes))
        with contextlib.suppress(FileNotFoundError):
            _write(self.dir / "memory.swap.max", "0")
        _write(self.dir / "cpu.max", f"{max(1000, int(cpus * CPU_PERIOD_US))} {CPU_PERIOD_US}")
        _write(self.dir / "pids.max", str(pids))

    def add_process(self, pid: int) -> None:
        _write(self.dir / "cgroup.procs", str(pid))

    def processes(self) -> list[int]:
        try:
            return [int(pid) for pid in _read(self.dir / "cgroup.procs").split()]
        except FileNotFoundError:
            return []

    def kill_all(self) -> None:
        kill = self.dir / "cgroup.kill"
        if kill.exists() and self.processes():
            _write(kill, "1")
        super().kill_all()

    def stats(self) -> CgroupStats:
        usage_us = _keyed(self.dir / "cpu.stat", "usage_usec")
        return CgroupStats(
            peak_memory_bytes=_optional_int(self.dir / "memory.peak"),
            cpu_seconds=None if usage_us is None else usage_us / 1e6,
            oom_kills=_keyed(self.dir / "memory.events", "oom_kill") or 0,
        )

    def _directories(self) -> list[Path]:
        return [self.dir]


class CgroupTree(abc.ABC):
    """Where sandbox cgroups are made, on one host."""

    version: int

    @abc.abstractmethod
    def prepare(self) -> None:
        """Create the ``cronium`` parent; SandboxUnavailableError if this host does not allow it."""

    @abc.abstractmethod
    def create(self, name: str) -> Cgroup:
        """A new, empty cgroup called ``name``."""

    @abc.abstractmethod
    def open(self, name: str) -> Cgroup:
        """The existing cgroup called ``name``."""

    @abc.abstractmethod
    def names(self) -> list[str]:
        """Every sandbox cgroup that exists now."""


class CgroupTreeV1(CgroupTree):
    version = 1

    def __init__(self, mounts: dict[str, Path]) -> None:
        self.bases = {controller: mounts[controller] / BASE for controller in V1_CONTROLLERS}

    def prepare(self) -> None:
        for base in self.bases.values():
            _mkdir(base)

    def create(self, name: str) -> Cgroup:
        cgroup = self.open(name)
        for directory in cgroup._directories():
            _mkdir(directory, exist_ok=False)
        return cgroup

    def open(self, name: str) -> Cgroup:
        return CgroupV1(name, {c: base / name for c, base in self.bases.items()})

    def names(self) -> list[str]:
        return _subdirectories(self.bases["pids"])


class CgroupTreeV2(CgroupTree):
    version = 2

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.base = mount / BASE

    def prepare(self) -> None:
        enable = " ".join(f"+{c}" for c in V2_CONTROLLERS)
        available = _read(self.mount / "cgroup.controllers").split()
        missing = [c for c in V2_CONTROLLERS if c not in available]
        if missing:
            raise SandboxUnavailableError(
                f"the cgroup v2 controllers {', '.join(missing)} are not available at "
                f"{self.mount}: the native backend needs memory, pids and cpu"
            )
        try:
            _write(self.mount / "cgroup.subtree_control", enable)
            _mkdir(self.base)
            _write(self.base / "cgroup.subtree_control", enable)
        except OSError as exc:
            raise _unavailable(self.base, exc) from exc

    def create(self, name: str) -> Cgroup:
        _mkdir(self.base / name, exist_ok=False)
        return self.open(name)

    def open(self, name: str) -> Cgroup:
        return CgroupV2(name, self.base / name)

    def names(self) -> list[str]:
        return _subdirectories(self.base)


def _mkdir(path: Path, *, exist_ok: bool = True) -> None:
    try:
        path.mkdir(exist_ok=exist_ok)
    except OSError as exc:
        raise _unavailable(path, exc) from exc


def _unavailable(path: Path, exc: OSError) -> SandboxUnavailableError:
    return SandboxUnavailableError(
        f"cannot create cgroup {path}: {exc.strerror}. The native backend runs as root on a "
        "host whose cgroup file system is writable (not in an unprivileged container)"
    )


def _subdirectories(path: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in path.iterdir() if entry.is_dir())
    except FileNotFoundError:
        return []


def parse_mounts(mountinfo: str) -> tuple[dict[str, Path], Path | None]:
    """(v1 controller -> mount point, v2 mount point) from /proc/self/mountinfo's text."""
    v1: dict[str, Path] = {}
    v2: Path | None = None
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount_point, fstype, options = Path(fields[4]), tail[0], tail[2].split(",")
        if fstype == "cgroup2":
            v2 = mount_point
        elif fstype == "cgroup":
            for controller in V1_CONTROLLERS:
                if controller in options:
                    v1.setdefault(controller, mount_point)
    return v1, v2


def detect(mountinfo_path: Path = Path("/proc/self/mountinfo")) -> CgroupTree:
    """The cgroup layout of this host: v1 where its controllers are mounted, else v2."""
    v1, v2 = parse_mounts(_read(mountinfo_path))
    if all(controller in v1 for controller in V1_CONTROLLERS):
        return CgroupTreeV1(v1)
    if v2 is not None and (v2 / "cgroup.controllers").exists():
        controllers = _read(v2 / "cgroup.controllers").split()
        if "memory" in controllers or not v1:
            return CgroupTreeV2(v2)
    raise SandboxUnavailableError(
        "no usable cgroup hierarchy: the native backend needs the memory, pids and cpu "
        "controllers (cgroup v1 mounts or a cgroup v2 mount with them enabled)"
    )
