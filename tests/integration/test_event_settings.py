"""Settings declared once: description and tags over REST, in versions and in documents."""

from typing import Any

import httpx
import pytest

from tests.integration.rest import assert_error

SCRIPT = {"name": "backup", "language": "bash", "script": "echo saved"}


async def _create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/events", json={**SCRIPT, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_event_keeps_its_description_and_tags(client: httpx.AsyncClient) -> None:
    created = await _create(client, description="Nightly copy of the db", tags=["db", "nightly"])
    assert created["description"] == "Nightly copy of the db"
    assert created["tags"] == ["db", "nightly"]
    plain = await _create(client, name="plain")
    assert (plain["description"], plain["tags"]) == ("", [])
    shown = (await client.get(f"/api/v1/events/{created['id']}")).json()
    assert shown["tags"] == ["db", "nightly"]


async def test_events_are_listed_by_tag(client: httpx.AsyncClient) -> None:
    backup = await _create(client, tags=["db", "nightly"])
    report = await _create(client, name="report", tags=["nightly"])
    await _create(client, name="other")

    async def listed(*tags: str) -> list[int]:
        response = await client.get("/api/v1/events", params=[("tag", tag) for tag in tags])
        assert response.status_code == 200, response.text
        return [event["id"] for event in response.json()]

    assert await listed("nightly") == [backup["id"], report["id"]]
    assert await listed("nightly", "db") == [backup["id"]]
    assert await listed("nothing") == []
    assert len(await listed()) == 3


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"tags": ["a b"]}, "tags.0"),
        ({"tags": ["x" * 41]}, "tags.0"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"tags": ["a", "a"]}, "a tag is given twice"),
        ({"description": "d" * 2001}, "description"),
    ],
)
async def test_bad_tags_and_descriptions_are_refused_with_the_reason(
    client: httpx.AsyncClient, fields: dict[str, Any], fragment: str
) -> None:
    response = await client.post("/api/v1/events", json={**SCRIPT, **fields})
    assert_error(response, 422, fragment)


async def test_a_change_of_description_or_tags_makes_a_version_that_can_be_restored(
    client: httpx.AsyncClient,
) -> None:
    event = await _create(client, description="first", tags=["a"])
    path = f"/api/v1/events/{event['id']}"
    changed = (await client.patch(path, json={"description": "second", "tags": ["b"]})).json()
    assert changed["version"] == 2
    versions = (await client.get(f"{path}/versions")).json()
    assert versions[0]["settings"]["tags"] == ["b"]
    assert versions[1]["settings"]["description"] == "first"
    restored = (await client.post(f"{path}/versions/1/restore")).json()
    assert (restored["version"], restored["description"], restored["tags"]) == (3, "first", ["a"])
    cleared = await client.patch(path, json={"tags": None})
    assert_error(cleared, 422, "tags cannot be null")


async def test_documents_carry_description_and_tags_both_ways(client: httpx.AsyncClient) -> None:
    step = await _create(client, name="step", description="one step", tags=["etl"])
    workflow = await client.post(
        "/api/v1/workflows",
        json={
            "name": "flow",
            "description": "the whole flow",
            "tags": ["etl", "daily"],
            "workflow": {"nodes": [{"name": "s", "event_id": step["id"]}]},
        },
    )
    assert workflow.status_code == 201, workflow.text
    exported = await client.get(f"/api/v1/workflows/{workflow.json()['id']}/export")
    assert exported.status_code == 200, exported.text
    document = exported.text
    assert "description: the whole flow" in document
    assert "one step" in document
    changed = document.replace("one step", "the only step").replace("daily", "weekly")
    imported = await client.post(
        "/api/v1/workflows/import", content=changed, headers={"content-type": "application/yaml"}
    )
    assert imported.status_code in (200, 201), imported.text
    assert imported.json()["tags"] == ["etl", "weekly"]
    again = (await client.get(f"/api/v1/events/{step['id']}")).json()
    assert again["description"] == "the only step"
    assert again["tags"] == ["etl"]
