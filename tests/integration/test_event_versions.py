"""Event versions, restore, and editing policies through PATCH, over the REST API."""

from typing import Any

import httpx

from cronium.sandbox.fake import FakeBackend
from cronium.storage import Store
from cronium.worker import Worker
from tests.integration.rest import assert_error, create


async def versions(client: httpx.AsyncClient, event_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/events/{event_id}/versions")
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def test_each_change_of_script_or_settings_makes_a_version(
    client: httpx.AsyncClient,
) -> None:
    event = await create(client, script="echo one")
    assert event["version"] == 1
    url = f"/api/v1/events/{event['id']}"
    assert (await client.patch(url, json={"script": "echo two"})).json()["version"] == 2
    assert (await client.patch(url, json={"cpus": 1.0})).json()["version"] == 3
    # the same value again, or a pause, is no new version
    assert (await client.patch(url, json={"script": "echo two"})).json()["version"] == 3
    assert (await client.post(f"{url}/pause")).json()["version"] == 3
    history = await versions(client, event["id"])
    assert [v["version"] for v in history] == [3, 2, 1]
    assert [v["settings"]["script"] for v in history] == ["echo two", "echo two", "echo one"]
    assert history[0]["settings"]["cpus"] == 1.0
    one = (await client.get(f"{url}/versions/1")).json()
    assert (one["settings"]["script"], one["restored_from"]) == ("echo one", None)


async def test_restore_brings_back_a_version_as_a_new_one(client: httpx.AsyncClient) -> None:
    event = await create(client, name="hello", script="echo one", timeout_seconds=30)
    url = f"/api/v1/events/{event['id']}"
    await client.patch(url, json={"script": "echo two", "timeout_seconds": 60, "name": "other"})
    restored = await client.post(f"{url}/versions/1/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["version"] == 3
    assert (body["script"], body["timeout_seconds"], body["name"]) == ("echo one", 30, "hello")
    latest = (await versions(client, event["id"]))[0]
    assert (latest["version"], latest["restored_from"]) == (3, 1)


async def test_restore_refuses_unknown_versions_and_taken_names(
    client: httpx.AsyncClient,
) -> None:
    event = await create(client, name="hello")
    url = f"/api/v1/events/{event['id']}"
    assert_error(await client.post(f"{url}/versions/7/restore"), 404, "has no version 7")
    await client.patch(url, json={"name": "renamed"})
    await create(client, name="hello")  # another event takes the first name
    assert_error(
        await client.post(f"{url}/versions/1/restore"), 409, "'hello'", "rename that event"
    )
    assert (await client.get(url)).json()["name"] == "renamed"  # nothing changed


async def test_an_execution_records_the_version_that_ran(
    client: httpx.AsyncClient, store: Store
) -> None:
    fake_worker = Worker(store, FakeBackend())
    event = await create(client, script="echo one")
    url = f"/api/v1/events/{event['id']}"
    first = (await client.post(f"{url}/run")).json()["execution_id"]
    await fake_worker.run_once()
    await client.patch(url, json={"script": "echo two"})
    second = (await client.post(f"{url}/run")).json()["execution_id"]
    await fake_worker.run_once()
    recorded = [
        (await client.get(f"/api/v1/executions/{e}")).json()["event_version"]
        for e in (first, second)
    ]
    assert recorded == [1, 2]


async def test_patch_edits_policies_and_keeps_the_rest(client: httpx.AsyncClient) -> None:
    event = await create(
        client,
        schedule={"kind": "cron", "cron": "*/5 * * * *"},
        concurrency="forbid",
        catch_up_seconds=600,
        pool="gpu",
    )
    url = f"/api/v1/events/{event['id']}"
    changed = await client.patch(
        url,
        json={"missed_runs": "run_all", "max_executions": 3, "retry_backoff_seconds": 2},
    )
    body = changed.json()
    assert body["missed_runs"] == "run_all"
    assert (body["max_executions"], body["retry_backoff_seconds"]) == (3, 2)
    assert (body["concurrency"], body["catch_up_seconds"]) == ("forbid", 600)
    cleared = (await client.patch(url, json={"max_executions": None, "pool": None})).json()
    assert (cleared["max_executions"], cleared["pool"]) == (None, None)
    assert cleared["schedule"]["cron"] == "*/5 * * * *"
    unscheduled = (await client.patch(url, json={"schedule": None})).json()
    assert unscheduled["schedule"] is None
    assert_error(await client.patch(url, json={"concurrency": None}), 422, "concurrency")


async def test_http_events_are_created_and_checked(client: httpx.AsyncClient) -> None:
    event = await create(
        client,
        name="ping",
        language=None,
        script=None,
        http={"method": "post", "url": "https://example.com/hook", "body": {"a": 1}},
    )
    assert (event["kind"], event["language"], event["http"]["method"]) == ("http", None, "POST")
    for body, fragment in [
        ({"name": "x", "http": {"url": "ftp://h/"}}, "http.url"),
        ({"name": "x", "http": {"method": "TRACE", "url": "http://h"}}, "TRACE"),
        ({"name": "x", "kind": "http"}, "needs its request"),
    ]:
        assert_error(await client.post("/api/v1/events", json=body), 422, fragment)
    patched = await client.patch(f"/api/v1/events/{event['id']}", json={"script": "echo"})
    assert_error(patched, 422, "makes an HTTP request")
