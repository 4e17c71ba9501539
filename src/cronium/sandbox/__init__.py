"""Sandbox backends behind one interface, and the choice among them by name."""

from __future__ import annotations

from pathlib import Path

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.host import DEFAULT_STATE_DIR, StateDir, UidRange
from cronium.sandbox.spec import SandboxBackend


def create_backend(
    name: str, *, state_dir: Path = DEFAULT_STATE_DIR, uids: UidRange | None = None
) -> SandboxBackend:
    """The backend called ``name``, checked to work here (else SandboxUnavailableError); its
    sandboxes keep their state in ``state_dir`` and run as uids of ``uids``."""
    uids = uids or UidRange()
    state = StateDir(state_dir, group=uids.group)
    if name == "local-insecure":
        from cronium.sandbox.local import LocalInsecureBackend

        backend: SandboxBackend = LocalInsecureBackend()
    elif name == "native":
        from cronium.sandbox.native import NativeBackend

        backend = NativeBackend(state=state, uids=uids)
    elif name == "docker":
        from cronium.sandbox.docker import DockerBackend

        backend = DockerBackend(state=state, uids=uids)
    else:
        raise SandboxUnavailableError(
            f"there is no sandbox backend named {name!r}: choose native, docker or local-insecure"
        )
    backend.check()
    return backend
