"""Workflows over the REST API: validation, runs, webhook, export and import."""

from __future__ import annotations

from typing import Any

import httpx
import yaml

from cronium.sandbox.fake import FakeBackend
from cronium.storage import Store
from cronium.worker import Worker
from tests.integration.rest import assert_error, create


async def two_events(client: httpx.AsyncClient) -> tuple[int, int]:
    first = await create(client, name="first", language="python", script="print(1)")
    second = await create(client, name="second", script="echo 2", timeout_seconds=20)
    return first["id"], second["id"]


def graph(first: int, second: int, **edge: Any) -> dict[str, Any]:
    return {
        "nodes": [{"name": "a", "event_id": first}, {"name": "b", "event_id": second}],
        "edges": [{"source": "a", "target": "b", **edge}],
    }


async def make(client: httpx.AsyncClient, name: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/api/v1/workflows", json={"name": name, "workflow": body})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def test_a_workflow_is_created_listed_and_run(
    client: httpx.AsyncClient, store: Store
) -> None:
    first, second = await two_events(client)
    made = await client.post(
        "/api/v1/workflows",
        json={"name": "flow", "workflow": graph(first, second, kind="on_success")},
    )
    assert made.status_code == 201, made.text
    workflow = made.json()
    assert workflow["kind"] == "workflow"
    assert workflow["workflow"]["edges"][0]["kind"] == "on_success"
    listed = (await client.get("/api/v1/workflows")).json()
    assert [w["name"] for w in listed] == ["flow"]
    run = (await client.post(f"/api/v1/workflows/{workflow['id']}/run", json={"input": 5})).json()
    worker = Worker(store, FakeBackend())
    for _ in range(3):
        await worker.run_once()
    detail = (await client.get(f"/api/v1/workflows/runs/{run['execution_id']}")).json()
    assert detail["run"]["status"] == "succeeded"
    nodes = [(n["node"], n["status"], n["input"]) for n in detail["nodes"]]
    assert nodes == [("a", "succeeded", 5), ("b", "succeeded", None)]
    runs = (await client.get(f"/api/v1/workflows/{workflow['id']}/runs")).json()
    assert [r["id"] for r in runs] == [run["execution_id"]]


async def test_bad_workflows_are_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    first, second = await two_events(client)
    cycle = graph(first, second)
    cycle["edges"].append({"source": "b", "target": "a"})
    cases = [
        (cycle, "it has a cycle: a -> b -> a"),
        (graph(first, 999), "workflow node 'b': no event has id 999"),
        (graph(first, second, kind="sometimes"), "kind"),
        ({"nodes": []}, "it has no nodes"),
    ]
    for body, message in cases:
        answer = await client.post("/api/v1/workflows", json={"name": "bad", "workflow": body})
        assert_error(answer, 422, message)
    assert (await client.get("/api/v1/workflows")).json() == []
    nested = await make(client, "inner", graph(first, second))
    outer = {"nodes": [{"name": "x", "event_id": nested["id"]}]}
    nesting = await client.post("/api/v1/workflows", json={"name": "outer", "workflow": outer})
    assert_error(nesting, 422, "which is a workflow itself")
    assert_error(await client.delete(f"/api/v1/events/{first}"), 409, "is a node of workflow")


async def test_a_webhook_starts_a_run_with_the_body(
    client: httpx.AsyncClient, store: Store
) -> None:
    first, second = await two_events(client)
    workflow = await make(client, "hooked", graph(first, second))
    hook = (await client.post(f"/api/v1/events/{workflow['id']}/webhook")).json()
    accepted = await client.post(f"/api/v1/hooks/{hook['key']}", json={"order": 7})
    assert accepted.status_code == 202
    await Worker(store, FakeBackend()).run_once()
    detail = (await client.get(f"/api/v1/workflows/runs/{accepted.json()['execution_id']}")).json()
    assert detail["run"]["trigger"] == "webhook"
    assert detail["nodes"][0]["input"] == {"order": 7}


async def test_export_and_import_round_trip_through_yaml(client: httpx.AsyncClient) -> None:
    first, second = await two_events(client)
    body = {
        "name": "nightly",
        "workflow": graph(first, second, kind="on_condition", value=False),
        "schedule": {"kind": "cron", "cron": "0 3 * * *", "timezone": "Europe/Paris"},
        "concurrency": "forbid",
    }
    workflow = (await client.post("/api/v1/workflows", json=body)).json()
    exported = await client.get(f"/api/v1/workflows/{workflow['id']}/export")
    assert exported.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(exported.text)
    assert document["workflow"]["nodes"] == [
        {"name": "a", "event": "first"},
        {"name": "b", "event": "second"},
    ]
    assert document["workflow"]["edges"][0] == {
        "source": "a",
        "target": "b",
        "kind": "on_condition",
        "value": False,
    }
    assert document["workflow"]["concurrency"] == "forbid"
    assert [e["name"] for e in document["events"]] == ["first", "second"]

    # edited in git: a step's script changes; imported again, the same workflow and events
    document["events"][1]["script"] = "echo 3"
    imported = await client.post("/api/v1/workflows/import", content=yaml.safe_dump(document))
    assert imported.status_code == 200, imported.text
    assert imported.json()["id"] == workflow["id"]
    second_event = (await client.get(f"/api/v1/events/{second}")).json()
    assert (second_event["script"], second_event["version"]) == ("echo 3", 2)
    assert second_event["timeout_seconds"] == 20
    assert (await client.get(f"/api/v1/workflows/{workflow['id']}")).json()["version"] == 1

    # under new names, it makes a new workflow with new events
    document["workflow"]["name"] = "copy"
    for event in document["events"]:
        event["name"] += "-copy"
    for node in document["workflow"]["nodes"]:
        node["event"] += "-copy"
    copy = (await client.post("/api/v1/workflows/import", content=yaml.safe_dump(document))).json()
    assert copy["id"] != workflow["id"]
    assert copy["schedule"]["timezone"] == "Europe/Paris"


async def test_bad_documents_say_where_they_are_wrong(client: httpx.AsyncClient) -> None:
    cases = [
        ("workflow: [unclosed", "not valid YAML"),
        ("- a list", "must be a mapping"),
        ("workflow: {name: w, nodes: [{name: a, event: ghost}]}", "unknown events: ghost"),
        ("workflow: {name: w, nodes: [{name: a, event: e}]}\nevents: [{name: e, language: cobol, "
         "script: x}]", "events[0].language"),
        ("workflow: {name: w, nodes: [{name: a, event: e}], edges: [{source: a, target: z}]}",
         "no node is named 'z'"),
    ]  # fmt: skip
    for text, message in cases:
        assert_error(await client.post("/api/v1/workflows/import", content=text), 422, message)
    assert (await client.get("/api/v1/events")).json() == []


async def test_a_run_is_cancelled_over_rest(client: httpx.AsyncClient, store: Store) -> None:
    first, second = await two_events(client)
    workflow = await make(client, "stoppable", graph(first, second))
    run = (await client.post(f"/api/v1/workflows/{workflow['id']}/run")).json()
    await Worker(store, FakeBackend()).claim()  # the run starts: its first node is taken
    cancelled = await client.post(f"/api/v1/workflows/runs/{run['execution_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["run"]["status"] == "cancelled"
    nodes = [(n["node"], n["status"]) for n in body["nodes"]]
    assert nodes == [("a", "running"), ("b", "cancelled")]
    plain = (await client.post(f"/api/v1/events/{first}/run")).json()
    not_a_run = await client.post(f"/api/v1/workflows/runs/{plain['execution_id']}/cancel")
    assert_error(not_a_run, 404, "is not a workflow run")


async def test_a_node_whose_event_is_gone_fails_and_the_run_still_ends(
    client: httpx.AsyncClient, store: Store
) -> None:
    first, second = await two_events(client)
    chain = graph(first, second, kind="on_success")
    chain["nodes"].append({"name": "c", "event_id": first})
    chain["edges"].append({"source": "b", "target": "c", "kind": "on_success"})
    workflow = await make(client, "shrinking", chain)
    run = (await client.post(f"/api/v1/workflows/{workflow['id']}/run")).json()
    worker = Worker(store, FakeBackend())
    ((execution, event),) = await worker.claim()  # the run starts; its node a is taken
    # meanwhile the workflow loses node b, whose event is then deleted
    alone = {"nodes": [{"name": "a", "event_id": first}]}
    edited = await client.patch(f"/api/v1/events/{workflow['id']}", json={"workflow": alone})
    assert edited.status_code == 200, edited.text
    assert (await client.delete(f"/api/v1/events/{second}")).status_code == 204
    await worker.execute(execution, event)
    detail = (await client.get(f"/api/v1/workflows/runs/{run['execution_id']}")).json()
    assert detail["run"]["status"] == "failed"  # the run followed the graph it started with
    nodes = [(n["node"], n["status"]) for n in detail["nodes"]]
    assert nodes == [("a", "succeeded"), ("b", "failed"), ("c", "skipped")]
    assert detail["nodes"][1]["error"] == f"its event {second} no longer exists"
