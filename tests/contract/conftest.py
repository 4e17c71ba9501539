"""The sandbox contract suite runs against every real backend."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from cronium.domain.event import Language
from cronium.sandbox.spec import OutputLine, SandboxBackend, SandboxResult
from tests.factories import sandbox_spec


@pytest.fixture(scope="session")
def backend(sandbox_backend: SandboxBackend) -> SandboxBackend:
    return sandbox_backend


@dataclass
class Run:
    result: SandboxResult
    lines: list[OutputLine] = field(default_factory=list)

    def out(self, stream: str = "stdout") -> list[str]:
        return [line.text for line in self.lines if line.stream == stream]

    @property
    def stdout(self) -> str:
        return "\n".join(self.out("stdout"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.out("stderr"))


async def run(
    backend: SandboxBackend,
    script: str,
    language: Language = Language.BASH,
    *,
    cancel: asyncio.Event | None = None,
    **options: object,
) -> Run:
    """Run ``script`` in ``backend``; ``options`` are SandboxSpec fields or ResourceLimits ones."""
    spec = sandbox_spec(script, language, **{"grace_seconds": 1.0, **options})
    lines: list[OutputLine] = []
    result = await backend.run(spec, lines.append, cancel)
    return Run(result, lines)
