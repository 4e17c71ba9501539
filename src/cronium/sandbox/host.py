"""What the sandboxes of a host share: a private state directory, and uids no account has.

**The state directory** (``CRONIUM_STATE_DIR``, default ``/run/cronium``) holds everything a
worker makes for its sandboxes: prepared roots, runtime sockets, bundles, uid locks. It is
owned by the worker's user, mode 0710 with the sandbox group (``uid_base``) so that
bubblewrap, started as a run's uid, can reach what it binds into the sandbox, and nobody else
can even look inside. Its parts are ``shared`` (0710, the same) or ``private`` (0700). Each is
opened without following symlinks and checked (a directory, its owner, its mode and group)
every time it is used; one that fails the check is refused with what to do, never repaired.

**Uids**: each run gets its own uid and gid, ``uid_base + slot``, from a range no host account
has (checked against the passwd and group databases and ``/etc/subuid``). A slot is held by an
``flock`` on a lock file for the time of the run, so concurrent workers of one host never give
the same uid to two runs, and a slot whose worker died is free again.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cronium.errors import SandboxStartError, SandboxUnavailableError

DEFAULT_STATE_DIR = Path("/run/cronium")
DEFAULT_UID_BASE = 2_100_000_000
DEFAULT_UID_COUNT = 65_536
SHARED_MODE = 0o710
PRIVATE_MODE = 0o700


@dataclass(frozen=True, slots=True)
class RunIds:
    """The host uid and gid of one run (inside its sandbox it is uid 1000)."""

    uid: int
    gid: int


@dataclass(frozen=True)
class UidRange:
    """Host uids ``base + 1 .. base + count - 1`` for runs; ``base`` is the sandbox group."""

    base: int = DEFAULT_UID_BASE
    count: int = DEFAULT_UID_COUNT

    @property
    def group(self) -> int:
        """The gid that may traverse the state directory (never a run's)."""
        return self.base

    def collisions(self) -> list[str]:
        """Host accounts, groups and subordinate ranges inside the range."""
        end = self.base + self.count
        found = [
            f"user {u.pw_name} ({u.pw_uid})" for u in pwd.getpwall() if self.base <= u.pw_uid < end
        ]
        found += [
            f"group {g.gr_name} ({g.gr_gid})" for g in grp.getgrall() if self.base <= g.gr_gid < end
        ]
        for path in (Path("/etc/subuid"), Path("/etc/subgid")):
            with contextlib.suppress(OSError):
                for line in path.read_text().splitlines():
                    name, _, rest = line.partition(":")
                    first, _, size = rest.partition(":")
                    if first.isdigit() and size.isdigit():
                        low, high = int(first), int(first) + int(size)
                        if low < end and self.base < high:
                            found.append(f"{path} range of {name} ({low}-{high - 1})")
        return found

    def check(self) -> None:
        """SandboxUnavailableError if a host account or range has an id of the range."""
        taken = self.collisions()
        if taken:
            raise SandboxUnavailableError(
                f"the sandbox uid range {self.base}-{self.base + self.count - 1} is not free on"
                f" this host: {', '.join(taken[:5])}. Choose another CRONIUM_SANDBOX_UID_BASE"
                " (or CRONIUM_SANDBOX_UID_COUNT) that no account uses"
            )


@dataclass(frozen=True)
class StateDir:
    """The private state directory of the host's workers (see the module's docstring)."""

    root: Path = DEFAULT_STATE_DIR
    group: int = DEFAULT_UID_BASE

    def ensure(self) -> Path:
        """The root, made if missing; SandboxUnavailableError if it fails the check."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        _ensure_directory(self.root, SHARED_MODE, self.group)
        return self.root

    def shared(self, name: str) -> Path:
        """``root/name``, 0710 with the sandbox group: bubblewrap, as a run's uid, binds from it."""
        self.ensure()
        return _ensure_directory(self.root / name, SHARED_MODE, self.group)

    def private(self, name: str) -> Path:
        """``root/name``, 0700: for the worker's eyes only."""
        self.ensure()
        return _ensure_directory(self.root / name, PRIVATE_MODE, None)


def _ensure_directory(path: Path, mode: int, group: int | None) -> Path:
    """Make ``path`` (``mode``, ``group``) unless it exists; then check it, via one descriptor
    opened without following a symlink."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, PRIVATE_MODE)  # private until its group and mode are set below
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            os.fchown(descriptor, -1, os.getegid() if group is None else group)
            os.fchmod(descriptor, mode)
        finally:
            os.close(descriptor)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise _refused(path, f"it cannot be opened as a directory ({exc.strerror})") from exc
    try:
        found = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    if found.st_uid != os.geteuid():
        raise _refused(path, f"it belongs to uid {found.st_uid}, not to this worker's user")
    if stat.S_IMODE(found.st_mode) != mode:
        raise _refused(
            path, f"its mode is {stat.S_IMODE(found.st_mode):04o}, where {mode:04o} is expected"
        )
    if group is not None and found.st_gid != group:
        raise _refused(path, f"its group is {found.st_gid}, where {group} is expected")
    return path


def _refused(path: Path, why: str) -> SandboxUnavailableError:
    return SandboxUnavailableError(
        f"the state directory {path} cannot be trusted: {why}. Someone else may have made it:"
        f" remove it (rm -r {path}) and start again, or set CRONIUM_STATE_DIR to another path"
    )


class UidSlots:
    """Hands out the run uids of a range, each to one run of the host at a time."""

    def __init__(self, uids: UidRange, locks: Path) -> None:
        self.uids = uids
        self.locks = locks

    @contextlib.contextmanager
    def claim(self, execution_id: int) -> Iterator[RunIds]:
        """A free uid for the run, held until the block ends; SandboxStartError if none is."""
        slots = self.uids.count - 1
        first = execution_id % slots
        for offset in range(slots):
            slot = (first + offset) % slots + 1
            descriptor = os.open(
                self.locks / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600
            )
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            try:
                yield RunIds(self.uids.base + slot, self.uids.base + slot)
            finally:
                os.close(descriptor)  # releases the lock
            return
        raise SandboxStartError(
            f"all {slots} sandbox uids of this host are in use: raise CRONIUM_SANDBOX_UID_COUNT"
        )
