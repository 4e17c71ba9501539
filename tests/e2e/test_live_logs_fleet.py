"""Following logs across a PostgreSQL fleet: the API and the worker are separate processes,
so a follower learns of new lines by NOTIFY."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from cronium.cli.logs import sse_events
from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine
from tests import postgres
from tests.backends import missing
from tests.conftest import TEMPLATE
from tests.e2e.server import RunningServer, kill_all, start_role, start_server
from tests.e2e.test_live_logs import SCRIPT, expected_lines, line_tuples
from tests.factories import event_body


@pytest.fixture
async def fleet(postgres_server: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """``cronium api`` and ``cronium worker`` on one fresh database; the API's address and an
    administrator's token."""
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    name = f"cronium_live_{os.getpid()}_{time.monotonic_ns()}"
    url = await postgres.create_database(postgres_server, name, template=TEMPLATE)
    engine = create_engine(url)
    _, issued = await Service(Store(engine)).accounts.create_admin("live")
    await engine.dispose()
    worker = start_role(url, "worker")
    api = start_server(tmp_path, {"CRONIUM_DATABASE_URL": url}, role="api")
    api.token = issued.secret
    try:
        yield api
    finally:
        api.stop()
        kill_all([worker])
        await postgres.drop_database(postgres_server, name)


@pytest.mark.timeout(120)
async def test_a_follower_of_the_api_gets_the_lines_a_worker_process_stores(
    fleet: RunningServer,
) -> None:
    headers = {"Authorization": f"Bearer {fleet.token}"}
    async with httpx.AsyncClient(base_url=fleet.url, headers=headers, timeout=60) as client:
        created = await client.post("/api/v1/events", json=event_body(script=SCRIPT))
        assert created.status_code == 201, created.text
        ids = []
        for _ in range(2):
            run = await client.post(f"/api/v1/events/{created.json()['id']}/run")
            ids.append(run.json()["execution_id"])
        ws_url = f"{fleet.url.replace('http', 'ws', 1)}/api/v1/executions/{ids[1]}/logs/ws"
        async with connect(ws_url, additional_headers=headers) as socket:
            stream = f"/api/v1/executions/{ids[0]}/logs/stream"
            async with client.stream("GET", stream) as response:
                lines = [line async for line in response.aiter_lines()]
            events = list(sse_events(iter(lines)))
            messages = [json.loads(message) async for message in socket]
    assert line_tuples(events) == expected_lines()
    assert (events[-1][0], events[-1][2]["exit_code"]) == ("end", 5)
    ws_lines = [(m["seq"], m["stream"], m["line"]) for m in messages if m["type"] == "line"]
    assert ws_lines == expected_lines()
    assert (messages[-1]["type"], messages[-1]["exit_code"]) == ("end", 5)
