"""Sending messages through users' tools: resolve the tool, render, attempt, retry, record.

:class:`Sender` sends one delivery: at once for a script's helper call, a tool event's run and
``cronium tools test`` (:meth:`Sender.send_now`, retrying inline within the caller's time),
or one attempt of a pending one from the outbox (:meth:`Sender.send_pending`, whose retry is
a later ``due_at``). :class:`Outbox` is the supervised loop a worker sends pending deliveries
with: conditional actions' messages, added by the transaction that ended their run. Every
attempt is recorded; a failing delivery never changes the run that asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cronium.actions.deliver import Attempt, attempt, target_of
from cronium.domain.action import ToolCall
from cronium.domain.delivery import (
    Delivery,
    DeliveryRules,
    DeliverySource,
    DeliveryStatus,
    Tool,
    iso_or_none,
)
from cronium.domain.egress import EgressPolicy
from cronium.domain.tool import ToolKind, action_name, check_params, secret_values
from cronium.errors import CroniumError, InvalidInputError, NotFoundError
from cronium.masking import Masker
from cronium.storage import Store
from cronium.supervision import LoopHealth
from cronium.templates import render_params_apart

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20
OUTBOX_POLL_SECONDS = 1.0


class Sender:
    def __init__(
        self,
        store: Store,
        egress: EgressPolicy,
        rules: DeliveryRules,
        clock: Callable[[], datetime],
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.store = store
        self.egress = egress
        self.rules = rules
        self.clock = clock
        self.tls_context = tls_context  # trusted SMTP certificates (the system's if None)

    async def resolve(self, owner_id: int, name: str) -> Tool:
        """The owner's tool named ``name``, or, for a kind's name (``slack``...), the owner's
        tool of that kind; with its credentials. NotFoundError or InvalidInputError saying
        what to do otherwise."""
        tool = await self.store.tools.find(owner_id, name, reveal=True)
        if tool is not None:
            return tool
        try:
            kind = ToolKind(name)
        except ValueError:
            raise NotFoundError(
                f"you have no tool named {name!r}: add one with `cronium tools add` (or name a "
                f"kind: {', '.join(ToolKind)})"
            ) from None
        tools = await self.store.tools.of_kind(owner_id, kind, reveal=True)
        if not tools:
            raise NotFoundError(
                f"you have no {kind} tool: add one with `cronium tools add NAME --kind {kind}`"
            )
        if len(tools) > 1:
            names = ", ".join(tool.name for tool in tools)
            raise InvalidInputError(
                f"you have {len(tools)} {kind} tools ({names}): name the one to use"
            )
        return tools[0]

    async def checked(
        self, owner_id: int, call: ToolCall, *, templates: bool = True
    ) -> tuple[Tool, ToolCall]:
        """The tool of ``call`` and the call with its action's canonical name and checked
        params (their templates compiled, unless ``templates`` is false: then their strings
        are sent as they are, like a script's): InvalidInputError or NotFoundError before
        anything is sent."""
        tool = await self.resolve(owner_id, call.tool)
        kind = ToolKind(tool.kind)
        action = action_name(kind, call.action)
        params = check_params(kind, action, call.params, templates=templates)
        return tool, ToolCall(call.tool, action, params)

    async def send_now(
        self,
        owner_id: int,
        call: ToolCall,
        source: DeliverySource,
        *,
        execution_id: int | None = None,
        context: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> Delivery:
        """Send ``call`` now (its params rendered with ``context`` first, if given), retrying
        transient failures within ``deadline`` seconds; the recorded delivery, sent or failed.
        Bad input raises before anything is recorded."""
        tool, call = await self.checked(owner_id, call, templates=context is not None)
        if context is not None:
            rendered = await render_params_apart(call.params, context)
            call = ToolCall(call.tool, call.action, rendered)
        budget = deadline if deadline is not None else self.rules.timeout_seconds * 4
        # held well past the last attempt's end (an SMTP goodbye included): never taken over
        hold = timedelta(seconds=2 * budget + self.rules.timeout_seconds + 60)
        delivery = await self.store.deliveries.start(
            owner_id, execution_id, call, source, self.clock(), hold
        )
        await self._resolved(delivery, tool, call)
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + budget
        attempts, started = 0, self.clock()
        try:
            while True:
                started = self.clock()
                seconds = max(1.0, min(self.rules.timeout_seconds, ends_at - loop.time()))
                result = await self._attempt(tool, call, seconds=seconds)
                attempts += 1
                wait = self.rules.delay(attempts, result.retry_after)
                again = result.transient and attempts < self.rules.attempts
                if not again or loop.time() + wait >= ends_at:
                    return await self._record(delivery.id, tool, result, attempts, started, None)
                await asyncio.sleep(wait)
        except asyncio.CancelledError:  # the run was cancelled or timed out: say so, for good
            gave_up = Attempt(False, False, None, "", None, "cancelled before it was delivered")
            await asyncio.shield(
                self._record(delivery.id, tool, gave_up, max(attempts, 1), started, None)
            )
            raise

    async def send_pending(self, delivery: Delivery) -> Delivery:
        """One attempt of a pending delivery from the outbox (held by this sender); its
        record: sent, failed, or pending again with its next attempt's time."""
        started = self.clock()
        attempts = delivery.attempts + 1
        try:
            assert delivery.params is not None
            templated = delivery.source is DeliverySource.ACTION  # others: sent as they are
            tool, call = await self.checked(
                delivery.owner_id,
                ToolCall(delivery.tool, delivery.action, delivery.params),
                templates=templated,
            )
            if templated:
                context = await self.context_of(delivery)
                rendered = await render_params_apart(call.params, context)
                call = ToolCall(call.tool, call.action, rendered)
        except Exception as exc:  # a fault of the delivery itself: it fails, saying why
            if not isinstance(exc, CroniumError):
                log.exception("delivery %s could not be prepared", delivery.id)
            reason = exc.message if isinstance(exc, CroniumError) else type(exc).__name__
            return await self.store.deliveries.record(
                delivery.id,
                status=DeliveryStatus.FAILED,
                attempts=attempts,
                started_at=started,
                now=self.clock(),
                error=reason,
            )
        if delivery.attempts == 0:
            await self._resolved(delivery, tool, call)
        result = await self._attempt(tool, call, seconds=self.rules.timeout_seconds)
        due = None
        if result.transient and attempts < self.rules.attempts:
            due = self.clock() + timedelta(seconds=self.rules.delay(attempts, result.retry_after))
        return await self._record(delivery.id, tool, result, attempts, started, due)

    async def context_of(self, delivery: Delivery) -> dict[str, Any]:
        """What a conditional action's templates read: its ended execution, event, last log
        lines and the owner's non-secret variables."""
        if delivery.execution_id is None:
            return template_context(None, None, [], {})
        execution = await self.store.executions.get(delivery.execution_id)
        try:
            event = await self.store.events.get(execution.event_id)
        except NotFoundError:
            event = None
        lines = await self.store.logs.tail(execution.id, LOG_TAIL_LINES)
        variables = await self.store.variables.all(delivery.owner_id, self.clock())
        return template_context(execution, event, [line.line for line in lines], variables)

    async def _attempt(self, tool: Tool, call: ToolCall, *, seconds: float) -> Attempt:
        assert tool.credentials is not None
        kind = ToolKind(tool.kind)
        extra: dict[str, Any] = {}
        if kind is ToolKind.EMAIL and self.tls_context is not None:
            extra["tls_context"] = self.tls_context
        try:
            return await attempt(
                kind, tool.credentials, call.action, call.params,
                egress=self.egress, timeout=seconds, **extra,
            )  # fmt: skip
        except Exception as exc:  # a fault of ours: recorded as the delivery's failure
            log.exception("a delivery through tool %s failed unexpectedly", tool.name)
            return Attempt(
                False, False, None, "", None, f"the delivery failed: {type(exc).__name__}"
            )

    async def _resolved(self, delivery: Delivery, tool: Tool, call: ToolCall) -> None:
        assert tool.credentials is not None
        kind = ToolKind(tool.kind)
        await self.store.deliveries.resolved(
            delivery.id,
            tool_id=tool.id,
            kind=tool.kind,
            target=target_of(kind, tool.credentials, call.params),
        )

    async def _record(
        self,
        delivery_id: int,
        tool: Tool,
        result: Attempt,
        attempts: int,
        started: datetime,
        due: datetime | None,
    ) -> Delivery:
        status = (
            DeliveryStatus.SENT
            if result.delivered
            else (DeliveryStatus.PENDING if due is not None else DeliveryStatus.FAILED)
        )
        masker = Masker(_secrets_of(tool))
        recorded = await self.store.deliveries.record(
            delivery_id,
            status=status,
            attempts=attempts,
            started_at=started,
            now=self.clock(),
            code=result.code,
            reply=masker.optional(result.reply),
            error=masker.optional(result.error),
            due_at=due,
        )
        level = logging.INFO if result.delivered else logging.WARNING
        log.log(
            level,
            "delivery %s through tool %s %s after %d attempt(s)",
            delivery_id, tool.name, status, attempts,
        )  # fmt: skip
        return recorded


def _secrets_of(tool: Tool) -> list[str]:
    assert tool.credentials is not None
    return secret_values(ToolKind(tool.kind), tool.credentials)


def template_context(
    execution: Any, event: Any, lines: list[str], variables: dict[str, Any]
) -> dict[str, Any]:
    """The names templates may read (see cronium/templates.py's TEMPLATE_NAMES)."""
    run: dict[str, Any] = {}
    if execution is not None:
        duration = None
        if execution.started_at is not None and execution.finished_at is not None:
            duration = (execution.finished_at - execution.started_at).total_seconds()
        run = {
            "id": execution.id,
            "status": str(execution.status),
            "exit_code": execution.exit_code,
            "signal": execution.signal,
            "duration_seconds": duration,
            "output": execution.output,
            "error": execution.error,
            "trigger": execution.trigger,
            "attempt": execution.attempt,
            "started_at": iso_or_none(execution.started_at),
            "finished_at": iso_or_none(execution.finished_at),
        }
    about = {} if event is None else {"id": event.id, "name": event.name, "kind": str(event.kind)}
    return {
        "event": about,
        "execution": run,
        "log": {"lines": lines, "tail": "\n".join(lines)},
        "variables": variables,
        "input": None if execution is None else execution.input,
    }


class Outbox:
    """A worker's loop that sends pending deliveries: woken when one is added (in-process, or
    by NOTIFY on PostgreSQL) and every second; supervised (a database outage is waited out)."""

    def __init__(self, sender: Sender, concurrency: int = 4) -> None:
        self.sender = sender
        self.concurrency = concurrency
        self.health = LoopHealth("the delivery outbox")
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the deliveries being sent, then end :meth:`run` (none is cut off halfway:
        cut off, it would be sent again by another worker once its hold passes)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        limit = asyncio.Semaphore(self.concurrency)
        while not self._stopping:
            self._wake.clear()  # before looking: a wake-up while it looks is not lost
            try:
                sent = await self.drain(limit)
                self.health.succeeded()
            except Exception as exc:  # supervised: retried with a back-off
                await asyncio.sleep(self.health.failed(exc))
                continue
            if sent or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), OUTBOX_POLL_SECONDS)

    async def drain(self, limit: asyncio.Semaphore | None = None) -> int:
        """Send what is due now (one attempt each); how many were tried."""
        limit = limit or asyncio.Semaphore(self.concurrency)
        hold = timedelta(seconds=self.sender.rules.timeout_seconds * 3 + 60)
        # no more than it sends at once: each is sent well within its hold
        due = await self.sender.store.deliveries.claim_due(
            self.sender.clock(), hold, self.concurrency
        )

        async def one(delivery: Delivery) -> None:
            async with limit:
                try:
                    await self.sender.send_pending(delivery)
                except Exception:
                    log.exception("delivery %s could not be sent or recorded", delivery.id)

        await asyncio.gather(*(one(delivery) for delivery in due))
        return len(due)
