"""The workflow pages: a graph built in the builder runs live on its run page, a run starts with
an input, a failed node says why, a refused graph is marked on the drawing, YAML goes out and
back in, a graph fits a phone, and a viewer only looks."""

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


def _chain(server: RunningServer, count: int) -> tuple[int, str]:
    """A workflow of ``count`` Bash events one after another (N1 -> N2 -> ...); its id, name."""
    n = next(_numbers)
    name = f"chain-{n}"
    with api(server) as client:
        ids = [_event(client, f"step-{n}-{i}", "bash", "echo step") for i in range(1, count + 1)]
        nodes = [{"name": f"N{i}", "event_id": event_id} for i, event_id in enumerate(ids, 1)]
        edges = [{"source": f"N{i}", "target": f"N{i + 1}"} for i in range(1, count)]
        made = client.post(
            "/api/v1/workflows", json={"name": name, "workflow": {"nodes": nodes, "edges": edges}}
        )
        assert made.status_code == 201, made.text
    return int(made.json()["id"]), name


def _replace_input(page: Page, label: str, text: str) -> None:
    """Type into a code editor as a paste would (no auto-closed brackets)."""
    page.get_by_label(label).click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)


def _start_from_dialog(page: Page, name: str) -> None:
    """Run the workflow ``name`` from its open Run dialog, with the input as it is."""
    page.get_by_role("dialog", name=f"Run {name} now").get_by_role(
        "button", name="Run", exact=True
    ).click()


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
    # the next edge starts from the usual kind, whatever the last one was
    expect(form.get_by_label("Kind")).to_have_value("on_success")


def test_a_workflow_built_in_the_builder_takes_its_true_branch_and_skips_the_false_one(
    page: Page, ui_server: RunningServer
) -> None:
    check, yes, no = _three_events(ui_server)
    login(page, ui_server, path="/workflows/new")
    name = f"branching-{next(_numbers)}"
    page.get_by_label("Name", exact=True).fill(name)
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
    page.get_by_role("button", name="Run now").click()
    with page.expect_request(re.compile(r"/api/v1/workflows/runs/\d+/stream$")):
        _start_from_dialog(page, name)
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
    page.get_by_role("link", name=re.compile(r"^node B: ")).focus()
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
    # the builder sees the cycle before the server does, and says it as an error
    warning = page.get_by_test_id("graph-warning")
    expect(warning).to_have_text(re.compile(r"^The server will refuse this graph: .*cycle"))
    expect(warning).to_have_class(re.compile(r"\bbanner error\b"))
    expect(warning).to_have_attribute("role", "alert")
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
    expect(warning).to_have_count(0)
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
    _start_from_dialog(page, name)
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
    workflow_id, name = _workflow(ui_server, first_script="sleep 30")
    login(page, ui_server, path=f"/workflows/{workflow_id}")
    page.get_by_role("button", name="Run now").click()
    _start_from_dialog(page, name)
    page.wait_for_url(re.compile(r"/workflows/runs/\d+$"))
    expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "running")
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("cancelled", timeout=RUN_TIMEOUT)
    expect(page.locator('[data-node="A"]')).to_have_attribute("data-status", "cancelled")
    expect(page.locator('[data-node="B"]')).to_have_attribute(
        "data-status", re.compile("skipped|cancelled")
    )
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)


def test_run_now_asks_for_an_input_checks_it_and_starts_the_run_with_it(
    page: Page, ui_server: RunningServer
) -> None:
    workflow_id, name = _workflow(ui_server)
    login(page, ui_server, path="/workflows")
    # the list's Run asks too; closed, nothing has started
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    row.get_by_role("button", name=f"Run {name}").click()
    dialog = page.get_by_role("dialog", name=f"Run {name} now")
    expect(dialog.get_by_role("textbox", name="Input (JSON)")).to_have_text("{}")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    with api(ui_server) as client:
        assert client.get(f"/api/v1/workflows/{workflow_id}/runs").json() == []

    row.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("button", name="Run now").click()
    _replace_input(page, "Input (JSON)", "{day: monday}")
    dialog.get_by_role("button", name="Run", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("input: is not valid JSON")
    assert page.url == f"{ui_server.url}/workflows/{workflow_id}"
    _replace_input(page, "Input (JSON)", '{"day": "monday"}')
    dialog.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/workflows/runs/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    with api(ui_server) as client:
        run = client.get(f"/api/v1/workflows/runs/{run_id}").json()
    assert run["run"]["event_id"] == workflow_id
    assert run["run"]["input"] == {"day": "monday"}
    expect(page.locator('[data-node="B"]')).to_have_attribute(
        "data-status", "succeeded", timeout=RUN_TIMEOUT
    )
    with api(ui_server) as client:
        nodes = client.get(f"/api/v1/workflows/runs/{run_id}").json()["nodes"]
    assert {n["node"]: n["input"] for n in nodes}["A"] == {"day": "monday"}


def test_a_failed_node_says_why_and_its_run_says_how_long_it_took(
    page: Page, ui_server: RunningServer
) -> None:
    workflow_id, name = _workflow(ui_server, first_script="exit 3")
    with api(ui_server) as client:
        run_id = client.post(f"/api/v1/workflows/{workflow_id}/run").json()["execution_id"]
    login(page, ui_server, path=f"/workflows/runs/{run_id}")
    expect(page.get_by_test_id("run-status")).to_contain_text("failed", timeout=RUN_TIMEOUT)
    nodes = page.get_by_role("table")
    failed = nodes.get_by_role("row").filter(has=page.get_by_role("cell", name="A", exact=True))
    expect(failed.get_by_role("cell").last).to_have_text("exit code 3")
    skipped = nodes.get_by_role("row").filter(has=page.get_by_role("cell", name="B", exact=True))
    expect(skipped.get_by_role("cell").nth(1)).to_have_text("skipped")
    expect(skipped.get_by_role("cell").last).to_have_text("")

    # the workflow's runs say how long each took, and open the run's page (not an execution's)
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(f"{ui_server.url}/workflows/{workflow_id}")
    run_link = page.get_by_role("link", name=f"Run {run_id}", exact=True)
    expect(run_link).to_have_attribute("href", f"/workflows/runs/{run_id}")
    row = page.get_by_role("row").filter(has=run_link)
    expect(row.get_by_role("cell").nth(4)).to_have_text(re.compile(r"^\d+(\.\d+)? (ms|s)$"))
    page.goto(f"{ui_server.url}/workflows")
    listed = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    expect(listed.get_by_role("link", name=re.compile("failed"))).to_have_attribute(
        "href", f"/workflows/runs/{run_id}"
    )


def test_on_a_phone_a_graph_fits_its_box_or_scrolls_inside_it(
    page: Page, ui_server: RunningServer
) -> None:
    workflow_id, _ = _workflow(ui_server)
    check = _event_names(ui_server, workflow_id)["A"]
    page.set_viewport_size(PHONE)
    login(page, ui_server, path=f"/workflows/{workflow_id}")
    # every node opens its event, named by the node and the event it runs
    first = page.get_by_role("link", name=f"node A: runs {check}", exact=True)
    expect(first).to_have_attribute("href", re.compile(r"^/events/\d+$"))
    # two nodes are drawn smaller to fit the phone, whole
    for node in ("A", "B"):
        expect(page.get_by_role("link", name=re.compile(f"^node {node}: "))).to_be_in_viewport(
            ratio=1
        )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "workflow-phone")

    # four in a row would be too small to read: the graph scrolls inside its box, not the page
    chain_id, _ = _chain(ui_server, 4)
    page.goto(f"{ui_server.url}/workflows/{chain_id}")
    last = page.get_by_role("link", name=re.compile(r"^node N4: "))
    expect(last).not_to_be_in_viewport()
    box = page.locator(".wf-graph")
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    last.focus()
    expect(last).to_be_in_viewport(ratio=1)
    assert box.evaluate("b => b.scrollLeft") > 0


def _event_names(server: RunningServer, workflow_id: int) -> dict[str, str]:
    """The name of the event each node of a workflow runs."""
    with api(server) as client:
        workflow = client.get(f"/api/v1/workflows/{workflow_id}").json()["workflow"]
        events = {e["id"]: e["name"] for e in client.get("/api/v1/events").json()}
    return {node["name"]: events[node["event_id"]] for node in workflow["nodes"]}
