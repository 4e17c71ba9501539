"""Looking at this host's processes from the tests: what runs, and as whom."""

from __future__ import annotations

from pathlib import Path

SANDBOX_UID = 1000


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting to be reaped by init does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def sandbox_processes() -> set[int]:
    """Live processes of the sandbox user (uid 1000) on this host."""
    return processes_of(SANDBOX_UID)


def processes_of(uid: int) -> set[int]:
    """Live processes of ``uid`` on this host."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid and alive(int(entry.name)):
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
