"""An in-memory backend for unit tests of the code around sandboxes. Runs nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cronium.sandbox.spec import OutputLine, OutputSink, SandboxBackend, SandboxResult, SandboxSpec


@dataclass(frozen=True, slots=True)
class FakeRun:
    """What the fake backend pretends a script did."""

    exit_code: int = 0
    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()
    duration: float = 0.0
    timed_out: bool = False


def echo_script(spec: SandboxSpec) -> FakeRun:
    """Default behaviour: print the script back on stdout and succeed."""
    return FakeRun(stdout=tuple(spec.script.splitlines()))


@dataclass
class FakeBackend(SandboxBackend):
    """Answers every run with ``behaviour(spec)`` and remembers the specs it was given."""

    behaviour: Callable[[SandboxSpec], FakeRun] = echo_script
    specs: list[SandboxSpec] = field(default_factory=list)
    name: str = "fake"

    def check(self) -> None:
        """Always available."""

    async def run(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        self.specs.append(spec)
        planned = self.behaviour(spec)
        for stream, lines in (("stdout", planned.stdout), ("stderr", planned.stderr)):
            for text in lines:
                on_output(OutputLine(stream=stream, at=datetime.now(UTC), text=text))  # type: ignore[arg-type]
        cancelled = False
        if planned.duration:
            waiter = cancel if cancel is not None else asyncio.Event()
            try:
                await asyncio.wait_for(waiter.wait(), timeout=planned.duration)
                cancelled = True
            except TimeoutError:
                pass
        return SandboxResult(
            exit_code=None if cancelled or planned.timed_out else planned.exit_code,
            timed_out=planned.timed_out,
            cancelled=cancelled,
            run_seconds=planned.duration,
        )
