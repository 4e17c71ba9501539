"""The workflow pages: a graph built in the builder runs live on its run page, a refused graph is
marked on the drawing, YAML goes out and back in, and a viewer only looks."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import PHONE, api, login, screenshot

CHOOSE_TRUE = "import cronium\ncronium.set_condition(True)\n"
RUN_TIMEOUT = 60_000
_numbers = itertools.count(1)


def _event(client: httpx.Client, name: str, language: str, script: str) -> int:
    made = client.post(
        "/api/v1/events", json={"name": name, "language": language, "script": script}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _three_events(server: RunningServer) -> tuple[str, str, str]:
    """A Python event that sets its condition to true, and two Bash events; their names."""
    n = next(_numbers)
    names = (f"check-{n}", f"yes-{n}", f"no-{n}")
    with api(server) as client:
        _event(client, names[0], "python", CHOOSE_TRUE)
        _event(client, names[1], "bash", "echo yes")
        _event(client, names[2], "bash", "echo no")
    return names


def _workflow(
    server: RunningServer, share_with_viewer: bool = False, first_script: str | None = None
) -> tuple[int, str]:
    """A workflow A --on success--> B made through the API (A runs ``first_script`` in Bash if
    given); its id and name."""
    check, yes, _ = _three_events(server)
    name = f"pipeline-{next(_numbers)}"
    with api(server) as client:
        if first_script is not None:
            check = f"first-of-{name}"
            _event(client, check, "bash", first_script)
        ids = {e["name"]: e["id"] for e in client.get("/api/v1/events").json()}
        made = client.post(
            "/api/v1/workflows",
            json={
                "name": name,
                "workflow": {
                    "nodes": [
                        {"name": "A", "event_id": ids[check]},
                        {"name": "B", "event_id": ids[yes]},
                    ],
                    "edges": [{"source": "A", "target": "B", "kind": "on_success"}],
                },
            },
        )
        assert made.status_code == 201, made.text
        workflow_id = int(made.json()["id"])
        if share_with_viewer:
            for event_id in (workflow_id, ids[check]):
                shared = client.put(
                    f"/api/v1/events/{event_id}/shares", json={"user": "viewer", "role": "viewer"}
                )
                assert shared.status_code == 200, shared.text
    return workflow_id, name


def _add_node(page: Page, event: str, node: str) -> None:
    form = page.get_by_role("form", name="Add a node")
    form.get_by_label("Event", exact=True).select_option(label=event)
    form.get_by_label("Node name").fill(node)
    form.get_by_role("button", name="Add node").click()
    expect(page.locator(f'[data-node="{node}"]')).to_be_visible()


def _add_edge(page: Page, source: str, target: str, kind: str) -> None:
    form = page.get_by_role("form", name="Add an edge")
    form.get_by_label("From", exact=True).select_option(source)
    form.get_by_label("To", exact=True).select_option(target)
    form.get_by_label("Kind").select_option(label=kind)
    form.get_by_role("button", name="Add edge").click()
    expect(page.locator(f'[data-edge="{source}->{target}"]')).to_have_attribute("data-kind", kind)


def test_a_workflow_built_in_the_builder_takes_its_true_branch_and_skips_the_false_one(
    page: Page, ui_server: RunningServer
) -> None:
    check, yes, no = _three_events(ui_server)
    login(page, ui_server, path="/workflows/new")
    page.get_by_label("Name", exact=True).fill(f"branching-{next(_numbers)}")
    _add_node(page, check, "A")
    _add_node(page, yes, "B")
    _add_node(page, no, "C")
    _add_edge(page, "A", "B", "if true")
    _add_edge(page, "A", "C", "if false")
    graph = page.get_by_role("group", name="The workflow being built")
    expect(graph.get_by_text("if true")).to_be_visible()
    expect(graph.get_by_text("if false")).to_be_visible()
    screenshot(page, "workflow-builder")

    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r"/workflows/\d+$"))
    expect(page.get_by_role("group", name=re.compile("The graph of branching"))).to_be_visible()
    with page.expect_request(re.compile(r"/api/v1/workflows/runs/\d+/stream$")):
        page.get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/workflows/runs/\d+$"))

    expect(page.locator('[data-node="B"]')).to_have_attribute(
        "data-status", "succeeded", timeout=RUN_TIMEOUT
    )
    expect(page.locator('[data-node="C"]')).to_have_attribute(
        "data-status", "skipped", timeout=RUN_TIMEOUT
    )
    expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-status")).to_contain_text("succeeded", timeout=RUN_TIMEOUT)
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    screenshot(page, "workflow-run")

    # on a phone the graph scrolls inside its card; the page itself does not
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 800})

    # a node that ran is a link to its execution, opened from the keyboard
    page.get_by_role("link", name=re.compile(r"^B: ")).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/executions/\d+$"))


def test_a_graph_the_api_refuses_is_marked_on_the_drawing_with_its_message(
    page: Page, ui_server: RunningServer
) -> None:
    check, yes, _ = _three_events(ui_server)
    login(page, ui_server, path="/workflows/new")
    page.get_by_label("Name", exact=True).fill(f"loop-{next(_numbers)}")
    _add_node(page, check, "A")
    _add_node(page, yes, "B")
    _add_edge(page, "A", "B", "always")
    _add_edge(page, "B", "A", "on success")
    page.get_by_role("button", name="Create workflow").click()

    refusal = page.get_by_test_id("graph-refusal")
    expect(refusal).to_have_text(
        re.compile(r"the workflow is not valid: it has a cycle: (A -> B -> A|B -> A -> B)")
    )
    for node in ("A", "B"):
        expect(page.locator(f'[data-node="{node}"]')).to_have_attribute("data-problem", "true")
    for edge in ("A->B", "B->A"):
        expect(page.locator(f'[data-edge="{edge}"]')).to_have_attribute("data-problem", "true")
    assert page.url.endswith("/workflows/new")

    # taken out, the edge no longer makes a cycle; a name taken is refused under the name
    page.get_by_role("button", name="Remove edge B to A").click()
    expect(page.locator('[data-edge="B->A"]')).to_have_count(0)
    page.get_by_label("Name", exact=True).fill(check)
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator('.field-error[data-field="name"]')).to_have_text(
        f"an event named '{check}' already exists"
    )
    expect(page.get_by_test_id("graph-refusal")).to_have_count(0)
    page.get_by_label("Name", exact=True).fill(f"no-loop-{next(_numbers)}")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r"/workflows/\d+$"))


def test_a_workflow_exported_as_yaml_imports_back_unchanged(
    page: Page, ui_server: RunningServer, tmp_path: Path
) -> None:
    workflow_id, name = _workflow(ui_server)
    login(page, ui_server, path=f"/workflows/{workflow_id}/yaml")
    expect(page.get_by_role("textbox", name="The workflow as YAML")).to_contain_text(
        f"name: {name}"
    )
    with page.expect_download() as downloading:
        page.get_by_role("link", name=f"Download {name}.yaml").click()
    download = downloading.value
    assert download.suggested_filename == f"{name}.yaml"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    document = target.read_text()
    assert f"name: {name}" in document

    page.goto(f"{ui_server.url}/workflows/new")
    page.get_by_label("Or read a file").set_input_files(target)
    expect(page.get_by_label("YAML document")).to_have_value(document)
    page.get_by_role("button", name="Import").click()
    report = page.get_by_role("table", name="What the import did")
    expect(report.get_by_role("row")).to_have_count(4)  # a head, two events, the workflow
    for row in report.get_by_role("row").all()[1:]:
        expect(row).to_contain_text("unchanged")
    page.get_by_role("link", name=name).click()
    page.wait_for_url(f"{ui_server.url}/workflows/{workflow_id}")

    page.goto(f"{ui_server.url}/workflows/new")
    page.get_by_label("YAML document").fill("cronium: 1\nworkflow: {name: x}\n")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("form", name="Import a workflow").get_by_role("alert")).to_be_visible()


def test_a_viewer_sees_the_graph_but_no_run_delete_or_builder_controls(
    page: Page, ui_server: RunningServer
) -> None:
    workflow_id, name = _workflow(ui_server, share_with_viewer=True, first_script="sleep 30")
    login(page, ui_server, "viewer", path="/workflows")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("link", name="New workflow")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Run {name}")).to_have_count(0)

    page.get_by_role("link", name=name).click()
    page.wait_for_url(f"{ui_server.url}/workflows/{workflow_id}")
    expect(page.get_by_role("group", name=f"The graph of {name}")).to_be_visible()
    expect(page.locator('[data-node="A"]')).to_be_visible()
    expect(page.locator('[data-edge="A->B"]')).to_have_attribute("data-kind", "on success")
    for control in ("Run now", "Delete"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)

    # a run going on: the viewer follows it but cannot cancel it
    with api(ui_server) as client:
        run_id = client.post(f"/api/v1/workflows/{workflow_id}/run").json()["execution_id"]
    try:
        page.goto(f"{ui_server.url}/workflows/runs/{run_id}")
        expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "running")
        expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    finally:
        with api(ui_server) as client:
            client.post(f"/api/v1/workflows/runs/{run_id}/cancel")

    page.goto(f"{ui_server.url}/workflows/new")
    expect(page.get_by_text("A viewer cannot create workflows.")).to_be_visible()
    expect(page.get_by_role("region", name="Workflow builder")).to_have_count(0)


def test_a_run_page_whose_stream_fails_catches_up_by_polling(
    page: Page, ui_server: RunningServer
) -> None:
    _, name = _workflow(ui_server, first_script="sleep 3")
    page.route(re.compile(r"/stream$"), lambda route: route.abort())
    login(page, ui_server, path="/workflows")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("never run")
    row.get_by_role("button", name=f"Run {name}").click()
    page.wait_for_url(re.compile(r"/workflows/runs/\d+$"))
    expect(page.get_by_test_id("run-status")).to_contain_text("checked every 2 s")
    expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "running")
    expect(page.locator('[data-node="B"]')).to_have_attribute(
        "data-status", "succeeded", timeout=RUN_TIMEOUT
    )
    expect(page.get_by_test_id("run-status")).to_contain_text("succeeded")

    page.goto(f"{ui_server.url}/workflows")
    expect(row).to_contain_text("succeeded")
    expect(row.get_by_role("cell").nth(1)).to_have_text("2")


def test_a_workflow_changed_in_its_edit_tab_shows_its_new_graph(
    page: Page, ui_server: RunningServer
) -> None:
    workflow_id, name = _workflow(ui_server)
    login(page, ui_server, path=f"/workflows/{workflow_id}")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"{ui_server.url}/workflows/{workflow_id}/edit")
    expect(page.locator('[data-edge="A->B"]')).to_have_attribute("data-kind", "on success")
    page.get_by_role("button", name="Remove edge A to B").click()
    _add_edge(page, "A", "B", "on failure")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"{ui_server.url}/workflows/{workflow_id}")
    expect(page.locator('[data-edge="A->B"]')).to_have_attribute("data-kind", "on failure")
    with api(ui_server) as client:
        stored = client.get(f"/api/v1/workflows/{workflow_id}").json()
    assert stored["version"] == 2
    assert stored["workflow"]["edges"][0]["kind"] == "on_failure"

    # a workflow deleted is gone from the list; its events are kept
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{ui_server.url}/workflows")
    expect(page.get_by_role("link", name=name)).to_have_count(0)


def test_a_writer_cancels_a_run_going_on_from_its_page(
    page: Page, ui_server: RunningServer
) -> None:
    workflow_id, _ = _workflow(ui_server, first_script="sleep 30")
    login(page, ui_server, path=f"/workflows/{workflow_id}")
    page.get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/workflows/runs/\d+$"))
    expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "running")
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("cancelled", timeout=RUN_TIMEOUT)
    expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "cancelled")
    expect(page.locator('[data-node="B"]')).to_have_attribute(
        "data-status", re.compile("skipped|cancelled")
    )
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
