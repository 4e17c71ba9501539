"""Sandbox backends behind one interface, and the choice among them by name."""

from __future__ import annotations

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.spec import SandboxBackend

NOT_YET_AVAILABLE = (
    "the {name} sandbox backend is not available in this version of Cronium, so scripts cannot "
    "run. To run them anyway as plain subprocesses with no isolation (development only, "
    "trusted scripts only), set CRONIUM_SANDBOX=local-insecure"
)


def create_backend(name: str) -> SandboxBackend:
    """The backend called ``name``, checked to work here (else SandboxUnavailableError)."""
    if name == "local-insecure":
        from cronium.sandbox.local import LocalInsecureBackend

        backend: SandboxBackend = LocalInsecureBackend()
    elif name == "native":
        from cronium.sandbox.native import NativeBackend

        backend = NativeBackend()
    elif name == "docker":
        raise SandboxUnavailableError(NOT_YET_AVAILABLE.format(name=name))
    else:
        raise SandboxUnavailableError(
            f"there is no sandbox backend named {name!r}: choose native, docker or local-insecure"
        )
    backend.check()
    return backend
