"""Running a tool event: one message through one of the owner's tools, its delivery as the
run's output. The params' templates read the event, the run (still running: no status yet),
its input and the owner's non-secret variables."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cronium.actions.http import ended_without_process
from cronium.delivery import Sender, template_context
from cronium.domain.delivery import DeliverySource, DeliveryStatus
from cronium.domain.event import Event
from cronium.domain.execution import Execution
from cronium.errors import CroniumError
from cronium.sandbox.spec import OutputLine, OutputSink, SandboxResult, Stream


@dataclass(frozen=True, slots=True)
class ToolJob:
    execution: Execution
    event: Event


class ToolRunner:
    """Runs tool events for the worker, with the interface and result of a sandbox run."""

    def __init__(self, sender: Sender, clock: Callable[[], datetime]) -> None:
        self.sender = sender
        self.clock = clock

    def prepare(
        self, execution: Execution, event: Event, secrets: Mapping[str, str] | None = None
    ) -> ToolJob:
        assert event.tool_action is not None, "a tool event has its action"
        return ToolJob(execution, event)

    async def run(
        self, job: ToolJob, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        """Send the message (retrying within the event's timeout); ends early on ``cancel``."""
        started = time.monotonic()
        work = asyncio.ensure_future(self._send(job, on_output))
        stop = asyncio.ensure_future((cancel or asyncio.Event()).wait())
        try:
            done, _ = await asyncio.wait(
                {work, stop},
                timeout=job.event.limits.timeout_seconds,
                return_when="FIRST_COMPLETED",
            )
        finally:
            stop.cancel()
        seconds = time.monotonic() - started
        if work not in done:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            cancelled = cancel is not None and cancel.is_set()
            return ended_without_process(seconds, timed_out=not cancelled, cancelled=cancelled)
        output, error = work.result()
        return ended_without_process(seconds, output=output, error=error)

    async def _send(self, job: ToolJob, on_output: OutputSink) -> tuple[object, str | None]:
        def say(stream: Stream, text: str) -> None:
            on_output(OutputLine(stream=stream, at=self.clock(), text=text))

        call = job.event.tool_action
        assert call is not None
        try:
            variables = await self.sender.store.variables.all(job.event.owner_id, self.clock())
            context = template_context(job.execution, job.event, [], variables)
            delivery = await self.sender.send_now(
                job.event.owner_id,
                call,
                DeliverySource.EVENT,
                execution_id=job.execution.id,
                context=context,
                deadline=job.event.limits.timeout_seconds,
            )
        except CroniumError as exc:
            say("stderr", exc.message)
            return None, exc.message
        summary = f"{delivery.action} through tool {delivery.tool} to {delivery.target}"
        if delivery.status is DeliveryStatus.SENT:
            say("stdout", f"sent {summary} ({delivery.code}, {delivery.attempts} attempt(s))")
            return delivery.to_json(), None
        reason = delivery.error or f"the service answered {delivery.code}: {delivery.reply}"
        say("stderr", f"could not send {summary} after {delivery.attempts} attempt(s): {reason}")
        return delivery.to_json(), f"the message was not delivered: {reason}"
