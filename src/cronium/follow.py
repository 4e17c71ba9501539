"""Following executions' logs live: one shared fan-out per process.

All followers of one execution share one :class:`_Source`. A source learns that lines were
stored (or that the execution ended) from the store's in-process signal (the same process
stored them), from PostgreSQL's NOTIFY (another process did), and from a bounded poll: one
statement for every followed execution, every ``poll_interval`` seconds (0.1 s on SQLite,
where a worker in another process cannot notify; 1 s on PostgreSQL, as a safety net). On each
wake-up a source reads the new lines once, for all its followers.

Memory is bounded: each follower buffers at most ``buffer`` lines. A follower that falls
behind (its client reads slower than the script writes) stops receiving from its source and
reads the database itself, a page at a time, until it has caught up, then listens again. So a
follower never misses a line, never gets one twice, and never grows without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from cronium.domain.workflow import NodeRun
from cronium.errors import InvalidInputError, StorageError
from cronium.storage import LogLine, Store
from cronium.storage.logs import LogProgress
from cronium.storage.notifications import END, LOGS_CHANNEL

log = logging.getLogger(__name__)

SQLITE_POLL_SECONDS = 0.1
POSTGRES_POLL_SECONDS = 1.0
FOLLOWER_BUFFER = 1000
PAGE_LINES = 1000
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class LogEnd:
    """The execution ended: its final status and how."""

    status: str
    exit_code: int | None
    signal: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing happened for a while (a keep-alive is due)."""


Message = LogLine | LogEnd | Idle


def _end_of(progress: LogProgress | None) -> LogEnd:
    if progress is None:
        return LogEnd(status="deleted", exit_code=None, signal=None, error="the execution is gone")
    return LogEnd(
        status=progress.status.value,
        exit_code=progress.exit_code,
        signal=progress.signal,
        error=progress.error,
    )


def _ended(progress: LogProgress | None) -> bool:
    return progress is None or progress.status.is_terminal


class _Follower:
    def __init__(self, source: _Source, after_seq: int, buffer: int) -> None:
        self.source = source
        self.cursor = after_seq  # the last seq handed to the client
        self.pending: deque[LogLine] = deque()
        self.buffer = buffer
        self.behind = True  # reading the database itself (the backlog, or after falling behind)
        self.woken = asyncio.Event()

    def offer(self, lines: list[LogLine]) -> None:
        """New lines from the source; past the buffer, the follower reads the database."""
        if self.behind:
            return
        for line in lines:
            if line.seq <= self.cursor or (self.pending and line.seq <= self.pending[-1].seq):
                continue
            if len(self.pending) >= self.buffer:
                self.behind = True
                break
            self.pending.append(line)
        self.woken.set()

    async def messages(self, keepalive: float) -> AsyncIterator[Message]:
        source = self.source
        while True:
            if self.pending:
                line = self.pending.popleft()
                self.cursor = line.seq
                yield line
            elif self.behind:
                page = await source.store.logs.read(
                    source.execution_id, after_seq=self.cursor, limit=PAGE_LINES
                )
                for line in page:
                    self.cursor = line.seq
                    yield line
                if len(page) < PAGE_LINES and self.cursor >= source.last_seq:
                    self.behind = False  # no await since the check: nothing slips between
            elif source.ended is not None and self.cursor >= source.last_seq:
                yield source.ended
                return
            else:
                self.woken.clear()
                try:
                    await asyncio.wait_for(self.woken.wait(), keepalive)
                except TimeoutError:
                    yield Idle()


class _Source:
    """The lines of one execution, read once per wake-up for all its followers."""

    def __init__(self, store: Store, execution_id: int, progress: LogProgress | None) -> None:
        self.store = store
        self.execution_id = execution_id
        self.last_seq = -1 if progress is None else progress.last_seq
        self.ended: LogEnd | None = _end_of(progress) if _ended(progress) else None
        self.followers: set[_Follower] = set()
        self.wake = asyncio.Event()
        self.end_signalled = False
        self.wanted = self.last_seq  # the last seq someone said was stored
        self.task: asyncio.Task[None] | None = None

    def signal(self, what: str) -> None:
        """Lines up to seq ``what`` were stored, or (:data:`END`) it ended: read them."""
        if what == END:
            self.end_signalled = True
        elif what.isdigit():
            self.wanted = max(self.wanted, int(what))
        self.wake.set()

    def note(self, progress: LogProgress | None) -> None:
        """What the poll saw."""
        if _ended(progress):
            self.end_signalled = True
        elif progress is not None:
            self.wanted = max(self.wanted, progress.last_seq)
        self.wake.set()

    async def run(self) -> None:
        while self.ended is None:
            await self.wake.wait()
            self.wake.clear()
            if not self.end_signalled and self.wanted <= self.last_seq:
                continue  # read already (one process's signal and its NOTIFY of the same lines)
            try:
                await self._read()
            except Exception:  # supervised: the poll wakes it again
                log.exception("could not read the log of execution %s", self.execution_id)

    async def _read(self) -> None:
        ending = None
        if self.end_signalled:
            found = await self.store.logs.progress([self.execution_id])
            progress = found.get(self.execution_id)
            if _ended(progress):
                ending = _end_of(progress)  # every line is stored by now (same transaction)
            self.end_signalled = False
        while True:
            lines = await self.store.logs.read(
                self.execution_id, after_seq=self.last_seq, limit=PAGE_LINES
            )
            if lines:
                self.last_seq = lines[-1].seq
                for follower in self.followers:
                    follower.offer(lines)
            if len(lines) < PAGE_LINES:
                break
        if ending is not None:
            self.ended = ending
            for follower in self.followers:
                follower.woken.set()


class LogFollowing:
    """The fan-out of one process: who follows which execution, and the sources they share.
    Its tasks run only while someone follows."""

    def __init__(
        self,
        store: Store,
        *,
        poll_interval: float | None = None,
        buffer: int = FOLLOWER_BUFFER,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self.store = store
        postgres = store.dialect == "postgresql"
        self.poll_interval = poll_interval or (
            POSTGRES_POLL_SECONDS if postgres else SQLITE_POLL_SECONDS
        )
        self.buffer = buffer
        self.keepalive = keepalive
        self.sources: dict[int, _Source] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._starting: dict[int, bool] = {}  # sources being made: signalled meanwhile?

    @contextlib.asynccontextmanager
    async def follow(
        self, execution_id: int, after_seq: int = -1
    ) -> AsyncIterator[AsyncIterator[Message]]:
        """The lines of an execution after ``after_seq``, as they are stored, then its end
        (check the caller's access first). Leaving the block stops following."""
        source = self.sources.get(execution_id) or await self._source(execution_id)
        follower = _Follower(source, after_seq, self.buffer)
        source.followers.add(follower)
        try:
            yield follower.messages(self.keepalive)
        finally:
            source.followers.discard(follower)
            if not source.followers:
                await self._drop(source)

    async def _source(self, execution_id: int) -> _Source:
        self._watch()
        self._starting.setdefault(execution_id, False)
        try:
            progress = (await self.store.logs.progress([execution_id])).get(execution_id)
        finally:
            signalled = self._starting.pop(execution_id, False)
        source = self.sources.get(execution_id)  # another follower may have made it meanwhile
        if source is None:
            source = self.sources[execution_id] = _Source(self.store, execution_id, progress)
            source.task = asyncio.create_task(source.run())
        if signalled:  # lines stored while it was being made: read them now
            source.signal(END)
        return source

    async def _drop(self, source: _Source) -> None:
        if self.sources.get(source.execution_id) is source:
            del self.sources[source.execution_id]
        if source.task is not None:
            source.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await source.task
        if not self.sources and self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    def _watch(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_forever())

    def _signal(self, execution_id: int, what: str) -> None:
        source = self.sources.get(execution_id)
        if source is not None:
            source.signal(what)
        elif execution_id in self._starting:
            self._starting[execution_id] = True

    def _on_notify(self, channel: str, payload: str) -> None:
        if not channel:  # the listener was away: anything may have been missed
            for source in self.sources.values():
                source.signal(END)  # reads the status and the new lines
            return
        ident, _, what = payload.partition(" ")
        if ident.isdigit():
            self._signal(int(ident), what)

    async def _watch_forever(self) -> None:
        stop = self.store.logs.on_stored(self._signal)
        try:
            async with self.store.listen([LOGS_CHANNEL], self._on_notify):
                while True:
                    await asyncio.sleep(self.poll_interval)
                    await self._poll()
        finally:
            stop()

    async def _poll(self) -> None:
        followed = [ident for ident, source in self.sources.items() if source.ended is None]
        if not followed:
            return
        try:
            found = await self.store.logs.progress(followed)
        except Exception as exc:  # the database away: the next poll tries again
            log.debug("could not poll the followed logs: %s", exc)
            return
        for ident in followed:
            source = self.sources.get(ident)
            if source is not None:
                source.note(found.get(ident))


@dataclass(frozen=True, slots=True)
class NodeChange:
    """A node of a workflow run changed status."""

    node: str
    status: str
    execution_id: int | None


@dataclass(frozen=True, slots=True)
class NodeLine:
    """A line of a node's execution."""

    node: str
    execution_id: int
    line: LogLine


RunMessage = NodeChange | NodeLine | LogEnd | Idle
RUN_TICK_SECONDS = 0.2
MAX_CURSOR = 16 * 1024  # Last-Event-ID of a run stream: hundreds of node executions fit
NODE_LINES_GRACE = 5.0


def run_cursor(text: str | None) -> dict[int, int]:
    """The position a workflow run's stream resumes from: ``Last-Event-ID`` as the stream
    writes it (``EXECUTION.SEQ`` of each node execution whose lines were sent, by commas).
    InvalidInputError, saying why, if it is not one."""
    if not text or not text.strip():
        return {}
    if len(text) > MAX_CURSOR:
        raise InvalidInputError(f"Last-Event-ID is longer than {MAX_CURSOR} characters")
    cursor: dict[int, int] = {}
    for part in text.strip().split(","):
        execution, _, seq = part.partition(".")
        if not (execution.isdigit() and seq.isdigit()):
            raise InvalidInputError(
                f"Last-Event-ID {text[:60]!r} is not a position of this stream: resend the id"
                " of the last event received (EXECUTION.SEQ,...), or none to start over"
            )
        cursor[int(execution)] = int(seq)
    return cursor


def cursor_text(cursor: dict[int, int]) -> str:
    """See :func:`run_cursor`."""
    return ",".join(f"{execution}.{seq}" for execution, seq in sorted(cursor.items()))


class RunFollower:
    """One follower of a workflow run: its nodes' status changes (read every ``tick``) and
    the lines of their executions (through the shared :class:`LogFollowing`), merged into one
    bounded queue, then the run's end once every node's lines are in."""

    def __init__(
        self,
        following: LogFollowing,
        run_id: int,
        tick: float = RUN_TICK_SECONDS,
        after: dict[int, int] | None = None,
    ) -> None:
        """``after``: for a follower that resumes, the last line it has of each execution."""
        self.following = following
        self.after = after or {}
        self.store = following.store
        self.run_id = run_id
        self.tick = tick
        self.out: asyncio.Queue[RunMessage] = asyncio.Queue(maxsize=following.buffer)
        self.seen: dict[str, tuple[str, int | None]] = {}
        self.lines: dict[int, asyncio.Task[None]] = {}

    async def messages(self) -> AsyncGenerator[RunMessage]:
        watcher = asyncio.create_task(self._watch())
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.out.get(), self.following.keepalive)
                except TimeoutError:
                    if watcher.done():
                        watcher.result()  # its failure, if it failed
                        return
                    yield Idle()
                    continue
                yield message
                if isinstance(message, LogEnd):
                    return
        finally:
            for task in (watcher, *self.lines.values()):
                task.cancel()
            await asyncio.gather(watcher, *self.lines.values(), return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            try:
                progress = (await self.store.logs.progress([self.run_id])).get(self.run_id)
                nodes = await self.store.runs.nodes(self.run_id)
            except StorageError as exc:  # the database away: look again at the next tick
                log.debug("could not read workflow run %s: %s", self.run_id, exc)
                await asyncio.sleep(self.tick)
                continue
            for node in nodes:
                await self._note(node)
            if _ended(progress):
                await self._drain()
                await self.out.put(_end_of(progress))
                return
            await asyncio.sleep(self.tick)

    async def _note(self, node: NodeRun) -> None:
        name, status, execution_id = node.node, node.status.value, node.execution_id
        if execution_id is not None and execution_id not in self.lines:
            self.lines[execution_id] = asyncio.create_task(self._lines(name, execution_id))
        if self.seen.get(name) == (status, execution_id):
            return
        if node.status.ended and execution_id is not None:  # its last lines come before its end
            await self._drain([self.lines[execution_id]])
        self.seen[name] = (status, execution_id)
        await self.out.put(NodeChange(name, status, execution_id))

    async def _drain(self, tasks: list[asyncio.Task[None]] | None = None) -> None:
        waiting = tasks if tasks is not None else list(self.lines.values())
        if waiting:
            await asyncio.wait(waiting, timeout=NODE_LINES_GRACE)

    async def _lines(self, node: str, execution_id: int) -> None:
        after = self.after.get(execution_id, -1)
        async with self.following.follow(execution_id, after) as messages:
            async for message in messages:
                if isinstance(message, LogEnd):
                    return
                if isinstance(message, LogLine):
                    await self.out.put(NodeLine(node, execution_id, message))
