"""Following logs in one process: the shared fan-out, its reads, resuming, bounded buffers and
who may follow (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from cronium.api.app import create_app
from cronium.domain.user import Role
from cronium.follow import Idle, LogEnd, LogFollowing, Message
from cronium.service import Service
from cronium.storage import LogLine, Store
from tests.factories import NOW, event_body, queued, run_record, stored_event
from tests.polling import until

WORKER = "worker-1"


def lines(start: int, count: int) -> list[LogLine]:
    return [LogLine(seq, "stdout", NOW, f"line {seq}") for seq in range(start, start + count)]


async def running(store: Store) -> int:
    """A running execution, held by WORKER."""
    execution = await queued(store, await stored_event(store))
    claimed = await store.queue.claim(WORKER, NOW, lease=timedelta(hours=1))
    assert [found.id for found, _ in claimed] == [execution.id]
    return execution.id


class Reader:
    """A follower's messages, collected by a task."""

    def __init__(self, messages: AsyncIterator[Message]) -> None:
        self.got: list[LogLine] = []
        self.end: LogEnd | None = None
        self.go = asyncio.Event()
        self.go.set()
        self.task = asyncio.create_task(self._read(messages))

    async def _read(self, messages: AsyncIterator[Message]) -> None:
        async for message in messages:
            await self.go.wait()
            if isinstance(message, LogEnd):
                self.end = message
                return
            if not isinstance(message, Idle):
                self.got.append(message)

    def seqs(self) -> list[int]:
        return [line.seq for line in self.got]


@contextmanager
def line_reads(store: Store) -> Iterator[list[str]]:
    """The statements that read log lines' text while inside."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "log_lines.line" in statement:
            seen.append(statement)

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def test_many_followers_of_one_execution_cost_one_read_per_wake_up(store: Store) -> None:
    execution_id = await running(store)
    following = LogFollowing(store, poll_interval=60)  # only the stores' signals wake it
    async with AsyncExitStack() as stack:
        readers = [
            Reader(await stack.enter_async_context(following.follow(execution_id)))
            for _ in range(20)
        ]
        await store.logs.append(execution_id, lines(0, 3), WORKER)
        await until(lambda: all(r.seqs() == [0, 1, 2] for r in readers), 10, "the first lines")
        with line_reads(store) as reads:
            await store.logs.append(execution_id, lines(3, 3), WORKER)
            await until(lambda: all(len(r.got) == 6 for r in readers), 10, "the next lines")
            await asyncio.sleep(0)  # a NOTIFY of the same lines, if any, is let in
        assert len(reads) == 1
        await store.queue.record(execution_id, WORKER, run_record(exit_code=0), lines(6, 1))
        await until(lambda: all(r.end is not None for r in readers), 10, "the end")
    for reader in readers:
        assert reader.seqs() == list(range(7))
        assert reader.end == LogEnd(status="succeeded", exit_code=0, signal=None, error=None)
    assert following.sources == {}  # nothing left once they are gone


async def test_a_follower_too_slow_for_its_buffer_reads_the_database_and_misses_nothing(
    store: Store,
) -> None:
    execution_id = await running(store)
    following = LogFollowing(store, poll_interval=60, buffer=3)
    async with (
        following.follow(execution_id) as fast_messages,
        following.follow(execution_id) as slow_messages,
    ):
        fast, slow = Reader(fast_messages), Reader(slow_messages)
        await until(lambda: not slow.task.done(), 1, "the slow reader starting")
        slow.go.clear()
        for start in range(0, 60, 6):
            await store.logs.append(execution_id, lines(start, 6), WORKER)
            await until(lambda start=start: len(fast.got) == start + 6, 10, "the fast reader")
        pending = [len(follower.pending) for follower in following.sources[execution_id].followers]
        assert max(pending) <= 3
        slow.go.set()
        await store.queue.record(execution_id, WORKER, run_record(exit_code=0))
        await until(lambda: slow.end is not None and fast.end is not None, 10, "both ends")
    assert fast.seqs() == slow.seqs() == list(range(60))


async def test_following_after_a_seq_resumes_there(store: Store) -> None:
    execution_id = await running(store)
    await store.logs.append(execution_id, lines(0, 10), WORKER)
    failed = run_record(exit_code=3)
    await store.queue.record(execution_id, WORKER, failed)
    following = LogFollowing(store)
    async with following.follow(execution_id, after_seq=6) as messages:
        reader = Reader(messages)
        await asyncio.wait_for(reader.task, 10)
    assert reader.seqs() == [7, 8, 9]
    assert reader.end is not None
    assert reader.end.exit_code == 3


@pytest.fixture
async def users(service: Service) -> dict[str, str]:
    """Tokens of an owner and of a stranger."""
    tokens = {}
    for name in ("owner", "stranger"):
        user = await service.accounts.create_user(None, f"{name}-live", Role.USER, None)
        issued = await service.accounts.issue_token(user, name="t", expires_in=None)
        tokens[name] = issued.secret
    return tokens


async def test_a_stream_of_an_execution_of_someone_else_is_404_and_of_ones_own_ends(
    service: Service, users: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://cronium") as http:
        owner = {"Authorization": f"Bearer {users['owner']}"}
        created = await http.post("/api/v1/events", json=event_body(), headers=owner)
        run = await http.post(f"/api/v1/events/{created.json()['id']}/run", headers=owner)
        execution_id = run.json()["execution_id"]
        await http.post(f"/api/v1/executions/{execution_id}/cancel", headers=owner)
        path = f"/api/v1/executions/{execution_id}/logs/stream"
        stranger = {"Authorization": f"Bearer {users['stranger']}"}
        refused = await http.get(path, headers=stranger)
        unknown = await http.get("/api/v1/executions/999999/logs/stream", headers=owner)
        followed = await http.get(path, headers=owner)
    assert (refused.status_code, unknown.status_code) == (404, 404)
    assert followed.status_code == 200
    assert followed.headers["content-type"].startswith("text/event-stream")
    event_line, data_line, *_ = followed.text.split("\n")
    assert event_line == "event: end"
    assert json.loads(data_line.removeprefix("data: "))["status"] == "cancelled"


async def test_a_log_page_says_whether_there_are_more(service: Service, store: Store) -> None:
    execution_id = await running(store)
    await store.logs.append(execution_id, lines(0, 5), WORKER)
    _, issued = await service.accounts.create_admin("pager")
    transport = httpx.ASGITransport(app=create_app(service))
    headers = {"Authorization": f"Bearer {issued.secret}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cronium", headers=headers
    ) as http:
        path = f"/api/v1/executions/{execution_id}/logs"
        first = await http.get(path, params={"limit": 3})
        last = await http.get(path, params={"after_seq": first.headers["x-next-after-seq"]})
    assert [line["seq"] for line in first.json()] == [0, 1, 2]
    assert (first.headers["x-has-more"], first.headers["x-next-after-seq"]) == ("true", "2")
    assert [line["seq"] for line in last.json()] == [3, 4]
    assert (last.headers["x-has-more"], last.headers["x-next-after-seq"]) == ("false", "4")
