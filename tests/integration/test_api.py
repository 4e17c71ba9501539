"""The REST API through its ASGI app, on both databases: auth, CRUD, runs and errors."""

from typing import Any

import httpx
import pytest

from cronium.domain.user import Role
from cronium.service import Service
from tests.factories import event_body
from tests.integration.rest import assert_error, create

OWNER_MAY = ["read", "run", "write"]  # what GET /events/{id} says its owner may do


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/events/{event_id}/run" in paths


async def test_requests_without_a_valid_token_are_refused(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/events", headers={"Authorization": ""})
    assert_error(missing, 401, "needs an API token")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = await client.get("/api/v1/events", headers={"Authorization": "Bearer crn_nope"})
    assert_error(wrong, 401, "not valid")


async def test_a_revoked_token_stops_working_at_once(client: httpx.AsyncClient) -> None:
    issued = (await client.post("/api/v1/tokens", json={"name": "ci"})).json()
    assert issued["token"].startswith(issued["prefix"])
    other = {"Authorization": f"Bearer {issued['token']}"}
    assert (await client.get("/api/v1/users/me", headers=other)).json()["name"] == "admin"
    listed = (await client.get("/api/v1/tokens")).json()
    assert all("token" not in token for token in listed)
    assert (await client.delete(f"/api/v1/tokens/{issued['id']}")).status_code == 200
    assert_error(await client.get("/api/v1/users/me", headers=other), 401, "revoked")


async def test_an_expired_token_is_refused(service: Service, client: httpx.AsyncClient) -> None:
    from datetime import timedelta

    user = await service.store.users.by_name("admin")
    issued = await service.accounts.issue_token(
        user, name="short", expires_in=timedelta(seconds=-1)
    )
    response = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {issued.secret}"}
    )
    assert_error(response, 401, "expired")


async def test_event_crud(client: httpx.AsyncClient) -> None:
    event = await create(client, env={"A": "1"}, timeout_seconds=30, memory_mb=128)
    assert (event["cpus"], event["pids"], event["memory_mb"]) == (0.5, 100, 128)
    url = f"/api/v1/events/{event['id']}"
    assert (await client.get(url)).json() == {**event, "may": OWNER_MAY}
    patched = (await client.patch(url, json={"script": "echo bye", "pids": 10})).json()
    assert (patched["script"], patched["pids"], patched["memory_mb"]) == ("echo bye", 10, 128)
    assert [e["id"] for e in (await client.get("/api/v1/events")).json()] == [event["id"]]
    assert (await client.delete(url)).status_code == 204
    assert_error(await client.get(url), 404, f"no event has id {event['id']}")


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"language": "ruby"}, ["language", "'bash', 'python' or 'node'"]),
        ({"script": "   \n"}, ["script", "the script is empty"]),
        ({"script": ""}, ["script"]),
        ({"name": ""}, ["name"]),
        ({"cpus": 4}, ["cpus", "less than or equal to 2"]),
        ({"memory_mb": 4096}, ["memory_mb", "2048"]),
        ({"pids": 0}, ["pids", "greater than or equal to 1"]),
        ({"timeout_seconds": 0}, ["timeout_seconds"]),
        ({"env": {"1BAD": "x"}}, ["'1BAD' is not a valid environment variable name"]),
        ({"env": {"CRONIUM_X": "x"}}, ["reserved"]),
        ({"colour": "red"}, ["colour: is not a known field"]),
    ],
)
async def test_bad_events_are_refused_with_a_reason_and_nothing_is_written(
    client: httpx.AsyncClient, changes: dict[str, Any], fragments: list[str]
) -> None:
    response = await client.post("/api/v1/events", json=event_body(**changes))
    assert_error(response, 422, *fragments)
    assert (await client.get("/api/v1/events")).json() == []


async def test_malformed_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/events", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "not valid JSON")


async def test_a_bad_update_changes_nothing(client: httpx.AsyncClient) -> None:
    event = await create(client)
    url = f"/api/v1/events/{event['id']}"
    assert_error(await client.patch(url, json={"script": "echo x", "cpus": 9}), 422, "cpus")
    assert (await client.get(url)).json() == {**event, "may": OWNER_MAY}


async def test_a_duplicate_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create(client, name="hello")
    again = await client.post("/api/v1/events", json=event_body(name="hello"))
    assert_error(again, 409, "already exists")


async def test_running_an_event_queues_an_execution_with_its_input(
    client: httpx.AsyncClient,
) -> None:
    event = await create(client)
    run = await client.post(f"/api/v1/events/{event['id']}/run", json={"input": {"n": [1, 2]}})
    assert run.status_code == 202
    assert run.json()["status"] == "queued"
    execution = (await client.get(f"/api/v1/executions/{run.json()['execution_id']}")).json()
    assert (execution["status"], execution["input"], execution["event_id"]) == (
        "queued",
        {"n": [1, 2]},
        event["id"],
    )
    bare = await client.post(f"/api/v1/events/{event['id']}/run")
    assert bare.status_code == 202
    listed = (await client.get("/api/v1/executions", params={"event_id": event["id"]})).json()
    assert [e["id"] for e in listed] == [bare.json()["execution_id"], execution["id"]]
    assert (await client.get(f"/api/v1/executions/{execution['id']}/logs")).json() == []


async def test_unknown_ids_are_404_with_a_message(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/api/v1/events/404/run"), 404, "no event has id 404")
    assert_error(await client.get("/api/v1/executions/404"), 404, "no execution has id 404")
    assert_error(await client.get("/api/v1/executions?event_id=404"), 404, "no event")
    assert_error(await client.get("/api/v1/events/abc"), 422, "event_id")


async def test_users_see_only_their_own_events_and_executions(
    service: Service, client: httpx.AsyncClient
) -> None:
    event = await create(client)
    run = (await client.post(f"/api/v1/events/{event['id']}/run")).json()
    bob = await service.store.users.create("bob", role=Role.USER, now=service.clock())
    issued = await service.accounts.issue_token(bob, name="bob", expires_in=None)
    as_bob = {"Authorization": f"Bearer {issued.secret}"}
    assert (await client.get("/api/v1/events", headers=as_bob)).json() == []
    for url in (f"/api/v1/events/{event['id']}", f"/api/v1/executions/{run['execution_id']}"):
        assert (await client.get(url, headers=as_bob)).status_code == 404
    assert (
        await client.post(f"/api/v1/events/{event['id']}/run", headers=as_bob)
    ).status_code == 404


async def test_egress_is_refused_unless_the_server_allows_it(
    client: httpx.AsyncClient, service: Service
) -> None:
    refused = await client.post("/api/v1/events", json=event_body(network="egress"))
    assert_error(refused, 422, "CRONIUM_ALLOW_EGRESS=true")
    event = await create(client)
    assert event["network"] == "none"
    patch = await client.patch(f"/api/v1/events/{event['id']}", json={"network": "egress"})
    assert_error(patch, 422, "not allowed")
    service.allow_egress = True
    allowed = await client.patch(f"/api/v1/events/{event['id']}", json={"network": "egress"})
    assert allowed.json()["network"] == "egress"


async def test_a_scheduled_event_shows_its_next_fires_and_can_be_paused(
    client: httpx.AsyncClient,
) -> None:
    schedule = {"kind": "cron", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}
    event = await create(client, schedule=schedule, concurrency="forbid", max_executions=10)
    assert (event["status"], event["concurrency"], event["fire_count"]) == ("active", "forbid", 0)
    assert event["schedule"]["cron"] == "0 9 * * 1-5"
    url = f"/api/v1/events/{event['id']}"
    fires = (await client.get(f"{url}/next", params={"count": 3})).json()["fires"]
    assert len(fires) == 3
    assert all(fire.endswith(("07:00:00Z", "08:00:00Z")) for fire in fires)  # 09:00 in Paris
    paused = (await client.post(f"{url}/pause")).json()
    assert paused["status"] == "paused"
    assert (await client.get(f"{url}/next")).json()["fires"] == []
    assert (await client.post(f"{url}/resume")).json()["status"] == "active"


async def test_a_schedule_can_be_checked_before_it_is_saved(client: httpx.AsyncClient) -> None:
    body = {
        "schedule": {"kind": "interval", "every_seconds": 90, "anchor": "2030-01-01T00:00:00Z"},
        "count": 2,
    }
    fires = (await client.post("/api/v1/schedules/next", json=body)).json()["fires"]
    assert fires == ["2030-01-01T00:00:00Z", "2030-01-01T00:01:30Z"]


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"kind": "cron", "cron": "* * *"}, "has 3 fields"),
        ({"kind": "cron", "cron": "0 9 * * *", "timezone": "Mars/Base"}, "unknown time zone"),
        ({"kind": "once", "at": "2030-01-01T00:00:00"}, "timezone"),
        ({"kind": "weekly"}, "'cron', 'interval' or 'once'"),
    ],
)
async def test_bad_schedules_are_refused_with_a_reason(
    client: httpx.AsyncClient, schedule: dict[str, Any], fragment: str
) -> None:
    response = await client.post("/api/v1/events", json=event_body(schedule=schedule))
    assert_error(response, 422, fragment)
    assert (await client.get("/api/v1/events")).json() == []


async def test_a_webhook_runs_its_event_with_the_body_as_input(client: httpx.AsyncClient) -> None:
    event = await create(client)
    issued = (await client.post(f"/api/v1/events/{event['id']}/webhook")).json()
    assert issued["key"].startswith("whk_")
    assert issued["url"].endswith(f"/api/v1/hooks/{issued['key']}")
    hook = f"/api/v1/hooks/{issued['key']}"
    anonymous = {"Authorization": ""}
    run = await client.post(hook, json={"order": 7}, headers=anonymous)
    assert run.status_code == 202
    execution = (await client.get(f"/api/v1/executions/{run.json()['execution_id']}")).json()
    assert (execution["input"], execution["trigger"]) == ({"order": 7}, "webhook")
    text = await client.post(
        hook, content=b"plain", headers={**anonymous, "Content-Type": "text/plain"}
    )
    assert (await client.get(f"/api/v1/executions/{text.json()['execution_id']}")).json()[
        "input"
    ] == "plain"
    # rotating the key retires the old one
    rotated = (await client.post(f"/api/v1/events/{event['id']}/webhook")).json()
    assert_error(
        await client.post(hook, json={}, headers=anonymous), 404, "no webhook has this key"
    )
    assert (
        await client.post(f"/api/v1/hooks/{rotated['key']}", headers=anonymous)
    ).status_code == 202
    assert (await client.delete(f"/api/v1/events/{event['id']}/webhook")).status_code == 204
    assert_error(
        await client.post(f"/api/v1/hooks/{rotated['key']}", headers=anonymous), 404, "no webhook"
    )


async def test_actions_must_name_events_of_the_caller(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/events", json=event_body(actions=[{"when": "success", "event_id": 999}])
    )
    assert_error(response, 422, "actions: no event has id 999")


async def test_a_null_kind_means_the_kind_the_fields_give(client: httpx.AsyncClient) -> None:
    made = await client.post("/api/v1/events", json=event_body(kind=None))
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "script"
    half = await client.post("/api/v1/events", json={"name": "x", "kind": None, "script": "ls"})
    assert_error(half, 422, "needs a language and a script")


async def test_executions_are_paged_back_by_id_and_filtered_by_status(
    client: httpx.AsyncClient,
) -> None:
    event = await create(client)
    ids = [
        (await client.post(f"/api/v1/events/{event['id']}/run")).json()["execution_id"]
        for _ in range(5)
    ]
    assert (await client.post(f"/api/v1/executions/{ids[1]}/cancel")).status_code == 200
    first = (await client.get("/api/v1/executions", params={"limit": 2})).json()
    assert [e["id"] for e in first] == [ids[4], ids[3]]
    after = {"limit": 2, "before_id": first[-1]["id"]}
    assert [e["id"] for e in (await client.get("/api/v1/executions", params=after)).json()] == [
        ids[2],
        ids[1],
    ]
    cancelled = await client.get("/api/v1/executions", params={"status": "cancelled"})
    assert [e["id"] for e in cancelled.json()] == [ids[1]]
    both = await client.get(
        "/api/v1/executions", params=[("status", "cancelled"), ("status", "queued")]
    )
    assert len(both.json()) == 5
    assert_error(await client.get("/api/v1/executions?status=lost"), 422, "status")


async def test_the_last_execution_of_each_event_and_the_queue(client: httpx.AsyncClient) -> None:
    quiet = await create(client, name="quiet")
    busy = await create(client, name="busy")
    assert (await client.get("/api/v1/queue")).json() == {
        "queued": 0,
        "running": 0,
        "oldest_due_at": None,
        "oldest_wait_seconds": None,
    }
    runs = [
        (await client.post(f"/api/v1/events/{event['id']}/run")).json()["execution_id"]
        for event in (busy, quiet, busy)
    ]
    last = (await client.get("/api/v1/executions/latest")).json()
    assert [(e["event_id"], e["id"]) for e in last] == [
        (busy["id"], runs[2]),
        (quiet["id"], runs[1]),
    ]
    queue = (await client.get("/api/v1/queue")).json()
    assert (queue["queued"], queue["running"]) == (3, 0)
    assert queue["oldest_wait_seconds"] >= 0
    first = (await client.get(f"/api/v1/executions/{runs[0]}")).json()
    assert queue["oldest_due_at"] == first["queued_at"]


async def test_the_upcoming_fires_of_all_events_in_time_order(client: httpx.AsyncClient) -> None:
    hourly = await create(client, name="hourly", schedule={"kind": "cron", "cron": "0 * * * *"})
    every_20 = {"kind": "interval", "every_seconds": 1200, "anchor": "2020-01-01T00:10:00Z"}
    twenty = await create(client, name="twenty", schedule=every_20)
    paused = await create(client, name="paused", schedule={"kind": "cron", "cron": "* * * * *"})
    await client.post(f"/api/v1/events/{paused['id']}/pause")
    await create(client, name="unscheduled")
    fires = (await client.get("/api/v1/schedules/upcoming", params={"limit": 8})).json()
    assert len(fires) == 8
    assert [f["at"] for f in fires] == sorted(f["at"] for f in fires)
    assert {f["event_name"] for f in fires} == {"hourly", "twenty"}
    assert {f["event_id"] for f in fires} == {hourly["id"], twenty["id"]}
    assert (
        sum(f["event_name"] == "twenty" for f in fires) == 6
    )  # :10, :30 and :50 against :00, in any eight in a row
    assert_error(await client.get("/api/v1/schedules/upcoming?limit=0"), 422, "limit")
