"""Hostile and edge-case requests answer a 4xx that says what is wrong, never a 500."""

import httpx
import pytest

from tests.factories import event_body
from tests.integration.rest import assert_error, create

HUGE = 2**63


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/events/{id}"),
        ("DELETE", "/api/v1/events/{id}"),
        ("POST", "/api/v1/events/{id}/pause"),
        ("GET", "/api/v1/events/{id}/next"),
        ("GET", "/api/v1/events/{id}/versions"),
        ("GET", "/api/v1/executions/{id}"),
        ("GET", "/api/v1/executions/{id}/logs"),
        ("POST", "/api/v1/executions/{id}/cancel"),
        ("DELETE", "/api/v1/tokens/{id}"),
        ("GET", "/api/v1/workflows/{id}"),
        ("GET", "/api/v1/workflow-runs/{id}"),
    ],
)
async def test_an_id_past_64_bits_is_a_422(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path.format(id=HUGE))
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert_error(response, 422, "less than or equal to 9223372036854775807")


async def test_an_id_in_a_query_past_64_bits_is_a_422(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"/api/v1/executions?event_id={HUGE}"), 422, "event_id")
    response = await client.get(f"/api/v1/executions/1/logs?after={HUGE}")
    assert response.status_code in (404, 422)


async def test_a_body_that_is_not_utf8_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/events",
        content=b'{"name": "caf\xe9"}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 422, "UTF-8")


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"kind": "cron", "cron": "* * * * *", "start": "9999-12-31T00:00:00Z"}, "start"),
        ({"kind": "interval", "every_seconds": 60, "anchor": "9999-12-31T23:59:00Z"}, "anchor"),
        ({"kind": "interval", "every_seconds": 1e30, "anchor": "2026-01-01T00:00:00Z"}, "every"),
        ({"kind": "once", "at": "0001-01-01T00:00:00Z"}, "at"),
    ],
)
async def test_a_schedule_whose_fires_cannot_be_computed_is_refused(
    client: httpx.AsyncClient, schedule: dict[str, object], fragment: str
) -> None:
    body = event_body(name="far", script="true", schedule=schedule)
    assert_error(await client.post("/api/v1/events", json=body), 422, fragment)
    preview = await client.post("/api/v1/schedules/next", json=schedule)
    assert_error(preview, 422, fragment)
    assert (await client.get("/api/v1/events")).json() == []


async def test_the_latest_start_allowed_still_computes(client: httpx.AsyncClient) -> None:
    schedule = {"kind": "cron", "cron": "* * * * *", "start": "8999-12-31T00:00:00Z"}
    event = await create(client, schedule=schedule)
    fires = (await client.get(f"/api/v1/events/{event['id']}/next")).json()["fires"]
    assert fires[0].startswith("8999-12-31T00:0")


async def test_the_openapi_schema_carries_the_bounds(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    parameter = spec["paths"]["/api/v1/events/{event_id}"]["get"]["parameters"][0]
    assert parameter["schema"]["maximum"] == 2**63 - 1
    every = spec["components"]["schemas"]["ScheduleIn"]["properties"]["every_seconds"]
    assert any(option.get("maximum") for option in every["anyOf"])
