"""Sandbox backends behind one interface, and the choice among them by name."""

from __future__ import annotations

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.spec import SandboxBackend


def create_backend(name: str) -> SandboxBackend:
    """The backend called ``name``, checked to work here (else SandboxUnavailableError)."""
    if name == "local-insecure":
        from cronium.sandbox.local import LocalInsecureBackend

        backend: SandboxBackend = LocalInsecureBackend()
    elif name == "native":
        from cronium.sandbox.native import NativeBackend

        backend = NativeBackend()
    elif name == "docker":
        from cronium.sandbox.docker import DockerBackend

        backend = DockerBackend()
    else:
        raise SandboxUnavailableError(
            f"there is no sandbox backend named {name!r}: choose native, docker or local-insecure"
        )
    backend.check()
    return backend
