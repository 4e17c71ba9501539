"""Bounded input: bodies read under a cap (with or without their length), nobody unknown gets
a byte read, JSON nested too deep is refused, and nothing stored can break a later read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from cronium.service import Service
from cronium.storage import Store
from tests.factories import run_record
from tests.integration.rest import assert_error, create

CHUNK = 64 * 1024


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


class Counted:
    """A request body streamed in chunks (no Content-Length), counting what was taken."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"name": "x", "language": "bash", "script": "'
        for _ in range(self.chunks):
            self.taken += 1
            yield b"a" * CHUNK
        yield b'"}'


async def test_a_body_nested_too_deep_is_refused_naming_the_limit(
    client: httpx.AsyncClient,
) -> None:
    event = await create(client)
    response = await client.post(
        f"/api/v1/events/{event['id']}/run",
        content=f'{{"input": {deep(65)}}}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 422, "nested more than 64 levels", "CRONIUM_JSON_MAX_DEPTH")
    fine = await client.post(f"/api/v1/events/{event['id']}/run", json={"input": [[[1]]]})
    assert fine.status_code == 202, fine.text


async def test_a_webhook_body_nested_too_deep_is_refused(client: httpx.AsyncClient) -> None:
    event = await create(client)
    key = (await client.post(f"/api/v1/events/{event['id']}/webhook")).json()["key"]
    response = await client.post(
        f"/api/v1/hooks/{key}", content=deep(200), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "nested more than 64 levels")


async def test_an_unauthenticated_body_is_not_read(client: httpx.AsyncClient) -> None:
    body = Counted(chunks=200)  # 12.5 MiB
    response = await client.post(
        "/api/v1/events",
        content=body,
        headers={"Authorization": "", "Content-Type": "application/json"},
    )
    assert_error(response, 401, "needs an API token")
    assert body.taken == 0
    bogus = Counted(chunks=200)
    response = await client.post(
        "/api/v1/events", content=bogus, headers={"Authorization": "Bearer crn_nothing"}
    )
    assert response.status_code == 401, response.text
    assert bogus.taken == 0


async def test_a_body_over_the_cap_is_cut_as_it_comes_without_a_length(
    client: httpx.AsyncClient,
) -> None:
    body = Counted(chunks=1000)  # 62.5 MiB, chunked
    response = await client.post("/api/v1/events", content=body)
    assert_error(response, 413, "exceeds 8388608 bytes")
    assert body.taken <= 8 * 1024 * 1024 // CHUNK + 1


async def test_a_webhook_body_over_its_cap_is_cut_before_its_key_is_looked_up(
    client: httpx.AsyncClient,
) -> None:
    body = Counted(chunks=100)
    response = await client.post("/api/v1/hooks/no-such-key", content=body)
    assert_error(response, 413, "exceeds 1048576 bytes")
    assert body.taken <= 1024 * 1024 // CHUNK + 1


async def test_a_value_stored_too_deep_does_not_break_the_listings(
    client: httpx.AsyncClient, store: Store, service: Service
) -> None:
    """A value stored before depths were bounded (here written straight to the store)."""
    event = await create(client)
    run = (await client.post(f"/api/v1/events/{event['id']}/run", json={})).json()
    claimed = await store.queue.claim("w", service.clock())
    assert claimed
    value: object = 1
    for _ in range(400):
        value = [value]
    record = run_record(finished_at=service.clock(), output=value)
    await store.queue.record(run["execution_id"], "w", record)
    one = await client.get(f"/api/v1/executions/{run['execution_id']}")
    assert one.status_code == 200, one.text
    assert "nested more than 64 levels" in one.json()["output"]["not_shown"]
    listing = await client.get("/api/v1/executions")
    assert listing.status_code == 200, listing.text
