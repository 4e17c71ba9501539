"""Workflow documents over the REST API: an export as a person writes it, an import's report
(created, changed, unchanged) and its dry run, every graph problem named, deleting a
workflow."""

from __future__ import annotations

from typing import Any

import httpx
import yaml
from sqlalchemy import select

from cronium.api.documents import EVENT_SETTINGS, WORKFLOW_SETTINGS
from cronium.sandbox.fake import FakeBackend
from cronium.storage import Store
from cronium.storage.tables import EventRow, EventVersionRow, ExecutionRow
from cronium.worker import Worker
from tests.integration.rest import assert_error, create

FETCH = 'import cronium\n\nrows = 42\ncronium.output({"rows": rows})\n'
EXPORTED = """\
cronium: 1
workflow:
  name: nightly
  description: Copies the day's rows.
  schedule: {kind: cron, cron: 0 3 * * *, timezone: Europe/Paris}
  concurrency: forbid
  nodes:
    - {name: fetch, event: fetch-data}
    - {name: notify, event: notify}
  edges:
    - {source: fetch, target: notify, kind: on_success}
events:
  - name: fetch-data
    tags: [db, nightly]
    language: python
    script: |
      import cronium

      rows = 42
      cronium.output({"rows": rows})
    env:
      TABLE: orders
    timeout_seconds: 60
    max_attempts: 3
  - name: notify
    http:
      method: POST
      url: https://example.com/hook
      headers:
        Authorization: Bearer x
"""
IMPORT = "/api/v1/workflows/import"


async def nightly(client: httpx.AsyncClient) -> dict[str, Any]:
    """The workflow of EXPORTED, made over REST: its JSON."""
    fetch = await create(
        client,
        name="fetch-data",
        language="python",
        script=FETCH,
        tags=["db", "nightly"],
        env={"TABLE": "orders"},
        timeout_seconds=60,
        max_attempts=3,
    )
    notify = await client.post(
        "/api/v1/events",
        json={
            "name": "notify",
            "http": {
                "method": "POST",
                "url": "https://example.com/hook",
                "headers": {"Authorization": "Bearer x"},
            },
        },
    )
    assert notify.status_code == 201, notify.text
    body = {
        "name": "nightly",
        "description": "Copies the day's rows.",
        "workflow": {
            "nodes": [
                {"name": "fetch", "event_id": fetch["id"]},
                {"name": "notify", "event_id": notify.json()["id"]},
            ],
            "edges": [{"source": "fetch", "target": "notify", "kind": "on_success"}],
        },
        "schedule": {"kind": "cron", "cron": "0 3 * * *", "timezone": "Europe/Paris"},
        "concurrency": "forbid",
    }
    made = await client.post("/api/v1/workflows", json=body)
    assert made.status_code == 201, made.text
    workflow: dict[str, Any] = made.json()
    return workflow


async def export(client: httpx.AsyncClient, workflow_id: int) -> str:
    answer = await client.get(f"/api/v1/workflows/{workflow_id}/export")
    assert answer.status_code == 200, answer.text
    return answer.text


async def imported(client: httpx.AsyncClient, text: str, **params: Any) -> dict[str, Any]:
    """The answer of an import of ``text`` (``dry_run=True``...)."""
    answer = await client.post(IMPORT, content=text, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def outcomes(report: dict[str, Any]) -> list[tuple[str, str, int | None, int]]:
    """``(name, outcome, old_version, version)`` of each event, then of the workflow."""
    return [
        (item["name"], item["outcome"], item["old_version"], item["version"])
        for item in [*report["events"], report["workflow"]]
    ]


async def rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row an import could write: events and their versions (executions too)."""
    tables = {"events": EventRow, "event_versions": EventVersionRow, "executions": ExecutionRow}
    async with store.engine.connect() as connection:
        return {
            name: [tuple(row) for row in await connection.execute(select(table.__table__))]
            for name, table in tables.items()
        }


# the export


async def test_an_export_reads_as_a_person_writes_it(client: httpx.AsyncClient) -> None:
    workflow = await nightly(client)
    text = await export(client, workflow["id"])
    assert text == EXPORTED  # scripts as literal blocks, defaults left out, plain strings
    assert "cpus" not in text
    assert "network" not in text
    assert await export(client, workflow["id"]) == text


async def test_an_export_keeps_the_order_of_the_declaration(client: httpx.AsyncClient) -> None:
    workflow = await nightly(client)
    document = yaml.safe_load(await export(client, workflow["id"]))
    settings = [key for key in document["workflow"] if key not in ("nodes", "edges")]
    assert settings == [name for name in WORKFLOW_SETTINGS if name in settings]
    assert list(document["workflow"])[-2:] == ["nodes", "edges"]
    for event in document["events"]:
        assert list(event) == [name for name in EVENT_SETTINGS if name in event]
    assert list(document) == ["cronium", "workflow", "events"]


async def test_a_change_changes_its_own_line_of_the_export(client: httpx.AsyncClient) -> None:
    workflow = await nightly(client)
    before = (await export(client, workflow["id"])).splitlines()
    fetch = workflow["workflow"]["nodes"][0]["event_id"]
    patched = await client.patch(f"/api/v1/events/{fetch}", json={"memory_mb": 256})
    assert patched.status_code == 200, patched.text
    after = (await export(client, workflow["id"])).splitlines()
    assert [line for line in after if line not in before] == ["    memory_mb: 256"]
    assert [line for line in before if line not in after] == []
    assert after.index("    memory_mb: 256") == after.index("    timeout_seconds: 60") + 1


async def test_a_multi_line_string_that_a_literal_block_cannot_keep_is_escaped(
    client: httpx.AsyncClient,
) -> None:
    script = "echo one\r\necho two\r\n"  # a literal block would read its \r\n as \n
    event = await create(client, name="crlf", script=script)
    graph = {"nodes": [{"name": "only", "event_id": event["id"]}]}
    workflow = await client.post("/api/v1/workflows", json={"name": "w", "workflow": graph})
    text = await export(client, workflow.json()["id"])
    assert 'script: "echo one\\r\\necho two\\r\\n"' in text
    assert yaml.safe_load(text)["events"][0]["script"] == script
    assert outcomes((await imported(client, text))["report"])[0][1] == "unchanged"


# the import and its report


async def test_an_export_imported_unchanged_leaves_everything_alone(
    client: httpx.AsyncClient, store: Store
) -> None:
    workflow = await nightly(client)
    text = await export(client, workflow["id"])
    before = await rows(store)
    answer = await imported(client, text)
    assert answer["id"] == workflow["id"]
    assert answer["version"] == 1
    assert outcomes(answer["report"]) == [
        ("fetch-data", "unchanged", 1, 1),
        ("notify", "unchanged", 1, 1),
        ("nightly", "unchanged", 1, 1),
    ]
    assert answer["report"]["dry_run"] is False
    assert await rows(store) == before  # not even a new updated_at
    assert await export(client, workflow["id"]) == text


async def test_every_kind_of_setting_survives_the_round_trip(
    client: httpx.AsyncClient, store: Store
) -> None:
    script = await create(
        client,
        name="tuned",
        description="Two lines\nof description.",
        script="#!/bin/bash\n\tindented with a tab  \necho end",
        env={"MODE": "fast", "EMPTY": "", "NUMBER": "42"},
        cpus=1.25,
        memory_mb=64,
        pool="gpu",
        retry_backoff_seconds=2.5,
        max_attempts=2,
        schedule={
            "kind": "interval",
            "every_seconds": 90,
            "anchor": "2026-03-01T12:00:00+02:00",
            "end": "2030-01-01T00:00:00Z",
        },
        missed_runs="skip",
        max_concurrent=2,
        max_executions=10,
    )
    call = await client.post(
        "/api/v1/events",
        json={
            "name": "call",
            "http": {
                "method": "PUT",
                "url": "https://example.com/x",
                "body": {"text": "hi", "count": 1.0, "ok": True},
                "fail_on_status": False,
            },
            "schedule": {"kind": "once", "at": "2030-06-01T08:30:00+02:00"},
        },
    )
    assert call.status_code == 201, call.text
    nodes = [
        {"name": "tuned", "event_id": script["id"]},
        {"name": "call", "event_id": call.json()["id"]},
    ]
    body = {
        "name": "everything",
        "tags": ["a:b", "true"],
        "workflow": {
            "nodes": nodes,
            "edges": [
                {"source": "tuned", "target": "call", "kind": "on_condition", "value": False}
            ],
        },
        "max_attempts": 2,
    }
    workflow = await client.post("/api/v1/workflows", json=body)
    assert workflow.status_code == 201, workflow.text
    text = await export(client, workflow.json()["id"])
    before = await rows(store)
    answer = await imported(client, text)
    assert [outcome for _, outcome, _, _ in outcomes(answer["report"])] == ["unchanged"] * 3
    assert await rows(store) == before
    assert await export(client, workflow.json()["id"]) == text
    document = yaml.safe_load(text)
    assert document["events"][0]["script"] == "#!/bin/bash\n\tindented with a tab  \necho end"
    assert "script: |-\n" in text
    assert "tags: ['a:b', 'true']" in text


async def test_the_report_says_what_was_created_changed_and_left_alone(
    client: httpx.AsyncClient,
) -> None:
    first = await imported(client, EXPORTED)
    assert outcomes(first["report"]) == [
        ("fetch-data", "created", None, 1),
        ("notify", "created", None, 1),
        ("nightly", "created", None, 1),
    ]
    ids = [item["id"] for item in first["report"]["events"]]
    assert [node["event_id"] for node in first["workflow"]["nodes"]] == ids
    assert first["report"]["workflow"]["id"] == first["id"]

    document = yaml.safe_load(EXPORTED)
    document["events"][0]["script"] = "print('changed')\n"
    document["events"].append({"name": "audit", "language": "bash", "script": "echo audit"})
    document["workflow"]["nodes"].append({"name": "audit", "event": "audit"})
    second = await imported(client, yaml.safe_dump(document))
    assert outcomes(second["report"]) == [
        ("fetch-data", "changed", 1, 2),
        ("notify", "unchanged", 1, 1),
        ("audit", "created", None, 1),
        ("nightly", "changed", 1, 2),
    ]
    fetch = (await client.get(f"/api/v1/events/{ids[0]}")).json()
    assert (fetch["script"], fetch["version"], fetch["timeout_seconds"]) == (
        "print('changed')\n",
        2,
        60,
    )


async def test_an_import_leaves_what_documents_do_not_keep(client: httpx.AsyncClient) -> None:
    answer = await imported(client, EXPORTED)
    notify = answer["report"]["events"][1]["id"]
    paused = await client.post(f"/api/v1/events/{notify}/pause")
    assert paused.status_code == 200, paused.text
    again = await imported(client, EXPORTED)
    assert outcomes(again["report"])[1] == ("notify", "unchanged", 1, 1)
    assert (await client.get(f"/api/v1/events/{notify}")).json()["status"] == "paused"


async def test_a_setting_left_out_of_the_document_goes_back_to_its_default(
    client: httpx.AsyncClient,
) -> None:
    await imported(client, EXPORTED)
    document = yaml.safe_load(EXPORTED)
    del document["events"][0]["timeout_seconds"]
    del document["workflow"]["schedule"]
    answer = await imported(client, yaml.safe_dump(document))
    assert outcomes(answer["report"])[0] == ("fetch-data", "changed", 1, 2)
    assert answer["schedule"] is None
    fetch = (await client.get(f"/api/v1/events/{answer['report']['events'][0]['id']}")).json()
    assert fetch["timeout_seconds"] == 300


async def test_a_dry_run_says_the_same_and_writes_nothing(
    client: httpx.AsyncClient, store: Store
) -> None:
    empty = await rows(store)
    preview = await imported(client, EXPORTED, dry_run="true")
    assert await rows(store) == empty
    assert set(preview) == {"report"}
    assert preview["report"]["dry_run"] is True
    assert outcomes(preview["report"]) == [
        ("fetch-data", "created", None, 1),
        ("notify", "created", None, 1),
        ("nightly", "created", None, 1),
    ]
    assert [item["id"] for item in preview["report"]["events"]] == [None, None]
    done = await imported(client, EXPORTED)
    assert outcomes(done["report"]) == outcomes(preview["report"])

    document = yaml.safe_load(EXPORTED)
    document["events"][1]["http"]["url"] = "https://example.com/other"
    before = await rows(store)
    changed = await imported(client, yaml.safe_dump(document), dry_run="true")
    assert await rows(store) == before
    assert outcomes(changed["report"]) == [
        ("fetch-data", "unchanged", 1, 1),
        ("notify", "changed", 1, 2),
        ("nightly", "unchanged", 1, 1),
    ]
    assert outcomes((await imported(client, yaml.safe_dump(document)))["report"]) == outcomes(
        changed["report"]
    )


async def test_a_refused_dry_run_says_why_as_the_import_would(client: httpx.AsyncClient) -> None:
    script = await create(client, name="nightly", script="echo taken")
    answer = await client.post(IMPORT, content=EXPORTED, params={"dry_run": "true"})
    assert_error(answer, 409, "an event named 'nightly' exists already and is a script event")
    assert_error(await client.post(IMPORT, content=EXPORTED), 409, "rename one of them")
    events = (await client.get("/api/v1/events")).json()
    assert [event["id"] for event in events] == [script["id"]]  # nothing half imported


async def test_documents_that_name_an_event_twice_are_refused(client: httpx.AsyncClient) -> None:
    twice = yaml.safe_load(EXPORTED)
    twice["events"][1]["name"] = "fetch-data"
    same = yaml.safe_load(EXPORTED)
    same["events"][1]["name"] = "nightly"
    cases = [
        (twice, "events[1].name: events[0] is named 'fetch-data' too"),
        (same, "events[1].name: 'nightly' is the workflow's name"),
    ]
    for document, message in cases:
        answer = await client.post(IMPORT, content=yaml.safe_dump(document))
        assert_error(answer, 422, message)
    assert (await client.get("/api/v1/events")).json() == []


# validation


async def test_every_problem_of_a_graph_is_named_the_cycle_included(
    client: httpx.AsyncClient,
) -> None:
    document = yaml.safe_load(EXPORTED)
    workflow = document["workflow"]
    workflow["nodes"] += [{"name": "fetch", "event": "notify"}, {"name": "late", "event": "notify"}]
    workflow["edges"] += [
        {"source": "notify", "target": "fetch"},
        {"source": "notify", "target": "ghost"},
        {"source": "notify", "target": "late"},
    ]
    answer = await client.post(IMPORT, content=yaml.safe_dump(document))
    assert_error(
        answer,
        422,
        "two nodes are named 'fetch'",
        "edge notify -> ghost: no node is named 'ghost'",
        "it has a cycle: fetch -> notify -> fetch",
        "late can never run (reached only through a cycle)",
    )
    assert (await client.get("/api/v1/events")).json() == []  # nothing was written


async def test_the_rest_api_names_every_problem_of_a_graph_too(client: httpx.AsyncClient) -> None:
    first = await create(client, name="a-step")
    nodes = [{"name": name, "event_id": first["id"]} for name in ("a", "b", "c", "d", "bad/")]
    edges = [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c"), ("a", "a"), ("d", "z")]
    body = {
        "name": "tangled",
        "workflow": {"nodes": nodes, "edges": [{"source": s, "target": t} for s, t in edges]},
    }
    answer = await client.post("/api/v1/workflows", json=body)
    assert_error(
        answer,
        422,
        "node name 'bad/' is not valid",
        "edge a -> a links a node to itself",
        "edge d -> z: no node is named 'z'",
        "it has a cycle: a -> b -> a",
        "it has a cycle: c -> d -> c",
    )


# deleting


async def test_a_workflow_is_deleted_and_its_events_are_kept(client: httpx.AsyncClient) -> None:
    workflow = await nightly(client)
    run = await client.post(f"/api/v1/workflows/{workflow['id']}/run")
    assert run.status_code == 202, run.text
    deleted = await client.delete(f"/api/v1/workflows/{workflow['id']}")
    assert deleted.status_code == 204, deleted.text
    assert_error(await client.get(f"/api/v1/workflows/{workflow['id']}"), 404, "no workflow has id")
    assert (await client.get("/api/v1/workflows")).json() == []
    run_id = run.json()["execution_id"]
    assert_error(await client.get(f"/api/v1/executions/{run_id}"), 404)
    events = (await client.get("/api/v1/events")).json()
    assert [event["name"] for event in events] == ["fetch-data", "notify"]
    fetch = events[0]["id"]
    assert (await client.delete(f"/api/v1/events/{fetch}")).status_code == 204  # no node now


async def test_deleting_says_what_stops_it(client: httpx.AsyncClient, store: Store) -> None:
    workflow = await nightly(client)
    fetch = workflow["workflow"]["nodes"][0]["event_id"]
    not_one = await client.delete(f"/api/v1/workflows/{fetch}")
    assert_error(not_one, 404, f"no workflow has id {fetch} (event {fetch} is not one)")
    assert_error(await client.delete("/api/v1/workflows/999"), 404, "no workflow has id 999")
    await client.post(f"/api/v1/workflows/{workflow['id']}/run")
    await Worker(store, FakeBackend()).claim()  # the run starts: its first node is taken
    going_on = await client.delete(f"/api/v1/workflows/{workflow['id']}")
    assert_error(
        going_on,
        409,
        f"workflow {workflow['id']} (nightly) has a run going on: cancel it or wait for it",
    )
    assert (await client.get(f"/api/v1/workflows/{workflow['id']}")).status_code == 200
