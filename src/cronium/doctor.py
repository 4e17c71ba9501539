"""``cronium doctor``: which sandbox backends work on this machine and, if not, why."""

from __future__ import annotations

from dataclasses import dataclass

from cronium.errors import CroniumError
from cronium.sandbox import create_backend
from cronium.sandbox.native import INSTALL_HINTS
from cronium.sandbox.native import INTERPRETERS as NATIVE_INTERPRETERS

BACKENDS = ("native", "docker", "local-insecure")


@dataclass(frozen=True, slots=True)
class Finding:
    """One backend's verdict: works or not, and what to know or do about it."""

    backend: str
    works: bool
    detail: str


def examine(name: str) -> Finding:
    """Try the backend called ``name`` for real and say how it went."""
    try:
        create_backend(name)
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


def examine_all() -> list[Finding]:
    return [examine(name) for name in BACKENDS]
