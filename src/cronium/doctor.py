"""``cronium doctor``: which sandbox backends work on this machine and, if not, why; and
whether what the server keeps is private (its data, its state directory, its uids)."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from cronium.errors import CroniumError
from cronium.sandbox import create_backend
from cronium.sandbox.host import StateDir
from cronium.sandbox.native import INSTALL_HINTS
from cronium.sandbox.native import INTERPRETERS as NATIVE_INTERPRETERS
from cronium.settings import Settings

BACKENDS = ("native", "docker", "local-insecure")


@dataclass(frozen=True, slots=True)
class Finding:
    """One verdict: works (or is right) or not, and what to know or do about it."""

    backend: str  # what was examined: a backend's name, or a check's
    works: bool
    detail: str


def examine(name: str, settings: Settings) -> Finding:
    """Try the backend called ``name`` for real and say how it went."""
    try:
        create_backend(name, state_dir=settings.state_dir, uids=settings.sandbox_uids)
    except CroniumError as exc:
        return Finding(name, False, exc.message)
    if name == "local-insecure":
        return Finding(name, True, "works, with no isolation at all: development only")
    if name == "native":
        missing = [
            f"{language} ({path}: apt-get install {INSTALL_HINTS[language]})"
            for language, path in NATIVE_INTERPRETERS.items()
            if not path.exists()
        ]
        if missing:
            return Finding(name, True, f"works, but cannot run {', '.join(missing)}")
    return Finding(name, True, "works")


def examine_all(settings: Settings) -> list[Finding]:
    return [examine(name, settings) for name in BACKENDS]


def examine_privacy(settings: Settings) -> list[Finding]:
    """The data directory 0700, the database files 0600, the state directory trusted, and a
    uid range no host account has."""
    findings = []
    database = _sqlite_file(settings)
    if database is not None:
        findings.append(_mode_finding("data directory", database.parent, 0o700))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists():
                findings.append(_mode_finding("database file", path, 0o600))
    uids = settings.sandbox_uids
    taken = uids.collisions()
    span = f"{uids.base}-{uids.base + uids.count - 1}"
    detail = f"{span} are free" if not taken else f"{span} in use: {', '.join(taken[:5])}"
    if taken:
        detail += "; set CRONIUM_SANDBOX_UID_BASE to a free range"
    findings.append(Finding("sandbox uids", not taken, detail))
    if settings.state_dir.exists():
        try:
            StateDir(settings.state_dir, group=uids.group).ensure()
            findings.append(Finding("state directory", True, f"{settings.state_dir} is private"))
        except CroniumError as exc:
            findings.append(Finding("state directory", False, exc.message))
    else:
        findings.append(
            Finding("state directory", True, f"{settings.state_dir} will be made at start")
        )
    return findings


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.database_url_value)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database or "")


def _mode_finding(what: str, path: Path, wanted: int) -> Finding:
    if not path.exists():
        return Finding(what, True, f"{path} will be made {wanted:04o} at start")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~wanted:
        return Finding(
            what, False, f"{path} is {mode:04o}: others can read it; run chmod {wanted:o} {path}"
        )
    return Finding(what, True, f"{path} is {mode:04o}")
