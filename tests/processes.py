"""Looking at this host's processes from the tests: what runs, and as whom."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cronium.sandbox.host import UidRange

SANDBOX_UIDS = UidRange()  # the default range: every sandbox's host uid is in it


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting to be reaped by init does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def sandbox_processes() -> set[int]:
    """Live processes of sandboxes on this host: those whose uid is one of the sandboxes'."""
    uids = range(SANDBOX_UIDS.base + 1, SANDBOX_UIDS.base + SANDBOX_UIDS.count)
    return _processes(lambda uid: uid in uids)


def processes_of(uid: int) -> set[int]:
    """Live processes of ``uid`` on this host."""
    return _processes(lambda owner: owner == uid)


def _processes(owned: Callable[[int], bool]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if owned(entry.stat().st_uid) and alive(int(entry.name)):
                found.add(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def command_line(pid: int) -> list[str]:
    """The arguments ``pid`` runs with (none once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []
