"""Message delivery through users' tools, to an HTTP hook on loopback (not a test).

One process holds a real worker (native sandbox, its outbox loop, its runtime API) over SQLite
in a temporary directory, and a Slack tool whose webhook is an HTTP server on loopback that
notes when each request has arrived (wall clock, as the executions' times are). Measured, each
against a baseline measured in the same run, interleaved so that noise hits both alike:

1. From a run's end (the execution's ``finished_at``) to its message arriving at the hook: a
   Bash event ``true`` with one ``always`` action that sends a Slack message, through the
   outbox. Baseline: one httpx POST of the same payload to the same hook, from a new client
   (as the sender makes one per attempt), from just before the POST to its arrival; beside
   it, the same POST from one client kept open (what a new client costs: mostly loading the
   system's TLS certificates, even for an http:// URL).
2. Per call, timed by the script with ``time.perf_counter``: a Python script calling
   ``cronium.execute_tool_action("slack", "send_message", {"text": "x"})`` CALLS times
   (each waits for its delivery). Baseline: the same script calling ``cronium.get_variable``
   CALLS times (the runtime API's cost without a delivery).
3. Messages per second: 10 events with 10 ``always`` actions each (20 is an event's most),
   run at once, from the first run's end to the last of the 100 messages arriving; and the
   wait from the last run's end to the last message. Baseline: 100 sequential httpx POSTs,
   each from a new client; beside it, the same from one client.

Prints, for each figure, the median over N runs, the least and the most, and the ratio of the
median to its baseline's (for a client kept open: to the new client's). Every wait gives up
after DEADLINE seconds; the whole takes about a minute with 7 runs.

    .venv/bin/python bench/notify.py [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from cronium.crypto import Keyring
from cronium.delivery import Sender
from cronium.domain.action import Action, ActionWhen, ToolCall
from cronium.domain.delivery import Delivery, DeliveryRules, DeliveryStatus
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Language, ResourceLimits
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.user import User
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.native import NativeBackend
from cronium.service import Service, utcnow
from cronium.settings import WorkerSettings
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker

CALLS = 20
EVENTS, ACTIONS = 10, 10  # 3.: 100 messages
DEADLINE = 30.0  # seconds any one wait may take before the benchmark gives up
EGRESS = EgressPolicy(allow_private=True)  # the hook is on loopback
RULES = DeliveryRules()  # the defaults: no failure is expected
SCRIPT = f"""
import json, time
import cronium

def timed(call):
    out = []
    for _ in range({CALLS}):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out

cronium.set_variable("x", 1)
send = timed(lambda: cronium.execute_tool_action("slack", "send_message", {{"text": "x"}}))
get = timed(lambda: cronium.get_variable("x"))
print(json.dumps({{"send": send, "get": get}}))
"""


@dataclass
class Hook:
    """An HTTP server on loopback that answers 200 and keeps each request's body with the
    wall-clock time it had arrived by."""

    url: str
    arrived: list[tuple[float, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.arrived)

    def since(self, start: int) -> list[tuple[float, bytes]]:
        with self.lock:
            return self.arrived[start:]

    async def wait(self, start: int, count: int) -> list[tuple[float, bytes]]:
        """The ``count`` requests that arrive after the first ``start``, once they have."""
        deadline = time.monotonic() + DEADLINE
        while self.count() < start + count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count - (self.count() - start)} messages never arrived")
            await asyncio.sleep(0.002)
        return self.since(start)


@contextmanager
def hook() -> Iterator[Hook]:
    state: Hook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrived = time.time()
            with state.lock:
                state.arrived.append((arrived, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Hook(f"http://127.0.0.1:{server.server_address[1]}/slack")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class World:
    store: Store
    service: Service
    user: User
    hook: Hook

    async def event(self, script: str, actions: tuple[Action, ...] = (), **fields: Any) -> int:
        fields.setdefault("language", Language.BASH)
        limits = ResourceLimits(timeout_seconds=60)
        name = f"bench-{time.time_ns()}"
        made = EventFields(
            name=name, script=script, env={}, limits=limits, actions=actions, **fields
        )
        return (await self.service.create_event(self.user, made)).id

    async def run(self, event_id: int) -> Execution:
        return await self.service.run_event(self.user, event_id, None)

    async def ended(self, execution_id: int) -> Execution:
        deadline = time.monotonic() + DEADLINE
        while not (execution := await self.store.executions.get(execution_id)).status.is_terminal:
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_id} never ended")
            await asyncio.sleep(0.01)
        return execution

    async def settled(self, executions: list[Execution]) -> None:
        """Until every delivery of ``executions`` is recorded (the outbox records each after
        its message arrives), so that the next measure starts with an idle outbox."""
        deadline = time.monotonic() + DEADLINE
        for execution in executions:
            while any(
                d.status is DeliveryStatus.PENDING for d in await self.deliveries(execution.id)
            ):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the deliveries of execution {execution.id} never ended")
                await asyncio.sleep(0.01)

    async def deliveries(self, execution_id: int) -> list[Delivery]:
        return await self.store.deliveries.for_execution(execution_id)


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    """A real worker with its outbox and runtime API over SQLite, and a Slack tool whose
    webhook is the loopback hook: the user's only Slack tool, so that "slack" names it."""
    NativeBackend().check()
    with tempfile.TemporaryDirectory(prefix="cronium-bench-") as directory, hook() as http:
        url = f"sqlite:///{directory}/cronium.db"
        engine = create_engine(url)
        await migrate(engine)
        keyring = Keyring(os.urandom(32))
        store = Store(engine, keyring)
        service = Service(store, sender=Sender(store, EGRESS, RULES, utcnow))
        user, _ = await service.accounts.create_admin("bench")
        await service.tools.add(user, "hook", "slack", {"webhook_url": http.url})
        runtime = RuntimeServer(url, keyring=keyring, egress=EGRESS, delivery=RULES)
        await asyncio.to_thread(runtime.start)
        settings = WorkerSettings(egress=EGRESS, delivery=RULES)
        worker = Worker(store, NativeBackend(), settings, runtime=runtime)
        service.notify_on_enqueue(worker.wake)
        stop = asyncio.Event()
        loop = asyncio.create_task(worker.run(stop))
        try:
            yield World(store, service, user, http)
        finally:
            stop.set()
            await loop
            await asyncio.to_thread(runtime.stop)
            await engine.dispose()


def always(text: str) -> Action:
    return Action(ActionWhen.ALWAYS, notify=ToolCall("hook", "send_message", {"text": text}))


async def post(url: str, client: httpx.AsyncClient | None = None) -> float:
    """One POST of a message, from ``client`` or a new one; the wall-clock time just before."""
    started = time.time()
    if client is None:
        async with httpx.AsyncClient(trust_env=False) as new:
            (await new.post(url, json={"text": "0"})).raise_for_status()
    else:
        (await client.post(url, json={"text": "0"})).raise_for_status()
    return started


async def end_to_hook(world: World, event_id: int) -> float:
    """Seconds from one run's end to its message's arrival."""
    start = world.hook.count()
    execution = await world.run(event_id)
    ((arrived, body),) = await world.hook.wait(start, 1)
    assert json.loads(body)["text"] in (str(execution.id), "ended")
    ended = await world.ended(execution.id)
    await world.settled([ended])
    assert ended.finished_at is not None
    return arrived - ended.finished_at.timestamp()


async def direct_post(world: World, client: httpx.AsyncClient | None = None) -> float:
    start = world.hook.count()
    started = await post(world.hook.url, client)
    ((arrived, _),) = await world.hook.wait(start, 1)
    return arrived - started


async def per_call(world: World, event_id: int) -> tuple[float, float]:
    """The median seconds of a script's execute_tool_action and get_variable calls."""
    start = world.hook.count()
    execution = await world.ended((await world.run(event_id)).id)
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.error
    lines = [line.line for line in await world.store.logs.read(execution.id)]
    timed = json.loads(lines[-1])
    assert len(world.hook.since(start)) == CALLS
    return statistics.median(timed["send"]), statistics.median(timed["get"])


async def many(world: World, event_ids: list[int]) -> tuple[float, float]:
    """Messages per second from the first run's end to the last message; and the seconds
    from the last run's end to the last message."""
    start = world.hook.count()
    queued = [await world.run(event_id) for event_id in event_ids]
    arrived = await world.hook.wait(start, len(event_ids) * ACTIONS)
    ended = [await world.ended(execution.id) for execution in queued]
    await world.settled(ended)
    ends = [execution.finished_at for execution in ended]
    first = min(end.timestamp() for end in ends if end is not None)
    final = max(end.timestamp() for end in ends if end is not None)
    last = max(moment for moment, _ in arrived)
    return len(arrived) / (last - first), last - final


async def sequential_posts(
    world: World, count: int, client: httpx.AsyncClient | None = None
) -> float:
    """Messages per second of ``count`` POSTs one after the other."""
    start = world.hook.count()
    first = await post(world.hook.url, client)
    for _ in range(count - 1):
        await post(world.hook.url, client)
    arrived = await world.hook.wait(start, count)
    return count / (max(moment for moment, _ in arrived) - first)


Row = tuple[str, str, list[float], list[float] | None]


@dataclass(frozen=True)
class Events:
    notified: int  # 1.: ``true``, one action (its text a template)
    plain: int  # 1.: the same, its text plain
    caller: int  # 2.: the script calling the helpers
    fans: list[int]  # 3.: ``true``, ACTIONS actions each


async def one_run(world: World, events: Events, client: httpx.AsyncClient) -> dict[str, float]:
    """Every figure once, each baseline just before what it is the baseline of."""
    figures = {"post": await direct_post(world), "warm post": await direct_post(world, client)}
    figures["end"] = await end_to_hook(world, events.notified)
    figures["plain end"] = await end_to_hook(world, events.plain)
    figures["send"], figures["get"] = await per_call(world, events.caller)
    figures["posts"] = await sequential_posts(world, EVENTS * ACTIONS)
    figures["warm posts"] = await sequential_posts(world, EVENTS * ACTIONS, client)
    figures["rate"], figures["tail"] = await many(world, events.fans)
    return figures


async def measure(runs: int) -> list[Row]:
    async with world() as w, httpx.AsyncClient(trust_env=False) as client:
        notify = (always("{{ execution.id }}"),)
        events = Events(
            notified=await w.event("true", notify),
            plain=await w.event("true", (always("ended"),)),
            caller=await w.event(SCRIPT, language=Language.PYTHON),
            fans=[await w.event("true", notify * ACTIONS) for _ in range(EVENTS)],
        )
        await end_to_hook(w, events.notified)  # warm up: the first run pays for imports
        await direct_post(w, client)
        measured = [await one_run(w, events, client) for _ in range(runs)]
    figures = {name: [run[name] for run in measured] for name in measured[0]}
    posted, got = _ms(figures["post"]), _ms(figures["get"])
    return [
        ("1. run's end -> hook, via the outbox", "ms", _ms(figures["end"]), posted),
        ("   the same, a text without a template", "ms", _ms(figures["plain end"]), posted),
        ("   baseline: one POST, new httpx client", "ms", posted, None),
        ("   one POST, one client reused", "ms", _ms(figures["warm post"]), posted),
        ("2. execute_tool_action, per call", "ms", _ms(figures["send"]), got),
        ("   baseline: get_variable, per call", "ms", got, None),
        ("3. 100 messages of 10 runs' ends", "msg/s", figures["rate"], figures["posts"]),
        ("   last run's end -> last message", "ms", _ms(figures["tail"]), None),
        ("   baseline: 100 POSTs, a new client each", "msg/s", figures["posts"], None),
        ("   100 POSTs, one client", "msg/s", figures["warm posts"], figures["posts"]),
    ]


def _ms(seconds: list[float]) -> list[float]:
    return [value * 1000 for value in seconds]


def report(rows: list[Row], runs: int) -> None:
    print(f"medians of {runs} runs; ratio: median / its baseline's median")
    print(f"{'measure':<42} {'unit':>5} {'median':>9} {'min':>9} {'max':>9} {'ratio':>7}")
    for name, unit, values, baseline in rows:
        median = statistics.median(values)
        ratio = f"{median / statistics.median(baseline):>7.2f}" if baseline else ""
        print(
            f"{name:<42} {unit:>5} {median:>9.1f} {min(values):>9.1f} {max(values):>9.1f} "
            f"{ratio:>7}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    report(asyncio.run(measure(arguments.runs)), arguments.runs)
