"""Running and watching: the execution page's live log, output, errors and cancel, the
executions list, and the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.polling import until_sync
from tests.ui.conftest import answers, api, login, screenshot

LIVE = """\
import sys, time
import cronium

print("first line", flush=True)
print("a warning", file=sys.stderr, flush=True)
time.sleep(6)
print("last line", flush=True)
cronium.output({"got": cronium.input()})
"""


def make_event(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    made = client.post("/api/v1/events", json=fields)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def run(client: httpx.Client, event_id: int, given: Any = None) -> int:
    started = client.post(f"/api/v1/events/{event_id}/run", json={"input": given})
    assert started.status_code == 202, started.text
    execution_id: int = started.json()["execution_id"]
    return execution_id


def ended(client: httpx.Client, execution_id: int) -> dict[str, Any]:
    def status() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/v1/executions/{execution_id}").json()
        return body if body["finished_at"] else None

    return until_sync(status, 60, f"execution {execution_id} to end")


def test_the_log_follows_live_and_the_output_shows_at_the_end(
    page: Page, ui_server: RunningServer, tmp_path: Path
) -> None:
    with api(ui_server) as client:
        event = make_event(client, name="live-log", language="python", script=LIVE)
        execution_id = run(client, event["id"], {"n": 7})
    login(page, ui_server, path=f"/executions/{execution_id}")
    log = page.get_by_role("log", name="Output lines")
    expect(log).to_contain_text("first line")
    # seen while it still runs: the last line is six seconds away
    expect(page.get_by_test_id("log-state")).to_have_text("(live)")
    expect(page.get_by_role("heading", name=f"Execution #{execution_id}")).to_contain_text(
        "running"
    )
    expect(log).not_to_contain_text("last line")
    expect(log.locator('[data-stream="stderr"]')).to_contain_text("a warning")
    expect(log).to_contain_text("last line", timeout=20_000)
    expect(page.get_by_test_id("log-state")).to_have_text("(ended)")
    expect(page.get_by_test_id("execution-output")).to_contain_text('"n": 7')
    expect(page.get_by_test_id("fact-ended-with")).to_have_text("exit code 0")
    screenshot(page, "execution", tmp_path)

    page.get_by_label("Search the log").fill("LAST")
    expect(log.locator("mark")).to_have_text("last")
    expect(log).not_to_contain_text("first line")
    page.get_by_label("Search the log").fill("")
    page.get_by_label("Stream").select_option("stderr")
    expect(log).to_have_text("2a warning")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / "log.txt"
    download.value.save_as(saved)
    assert saved.read_text() == "first line\n[stderr] a warning\nlast line\n"


def test_a_failing_run_shows_its_error_and_exit_code(page: Page, ui_server: RunningServer) -> None:
    with api(ui_server) as client:
        event = make_event(
            client, name="fails", language="bash", script="echo 'no such table' >&2; exit 3"
        )
        execution_id = run(client, event["id"])
        ended(client, execution_id)
    login(page, ui_server, path=f"/executions/{execution_id}")
    expect(page.get_by_role("heading", name=f"Execution #{execution_id}")).to_contain_text("failed")
    expect(page.get_by_test_id("fact-ended-with")).to_have_text("exit code 3")
    expect(page.get_by_role("log").locator('[data-stream="stderr"]')).to_contain_text(
        "no such table"
    )
    # the dashboard lists it among the failing events
    page.get_by_role("link", name="Dashboard").click()
    failing = page.get_by_role("region", name="Failing", exact=True)
    expect(failing.get_by_role("link", name="fails")).to_be_visible()


def test_a_running_execution_is_cancelled_from_its_page(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        event = make_event(
            client, name="sleeper", language="bash", script="echo started; sleep 120"
        )
        execution_id = run(client, event["id"])
    login(page, ui_server, path=f"/executions/{execution_id}")
    expect(page.get_by_role("log")).to_contain_text("started")
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: not cancelled
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name=f"Execution #{execution_id}")).to_contain_text(
        "running"
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    heading = page.get_by_role("heading", name=f"Execution #{execution_id}")
    expect(heading).to_contain_text("cancelled", timeout=20_000)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)


def test_a_viewer_sees_an_execution_without_a_cancel_button(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        event = make_event(client, name="viewed", language="bash", script="sleep 30")
        execution_id = run(client, event["id"])
        shared = client.put(
            f"/api/v1/events/{event['id']}/shares", json={"user": "viewer", "role": "viewer"}
        )
        assert shared.status_code == 200, shared.text
    try:
        login(page, ui_server, "viewer", path=f"/executions/{execution_id}")
        expect(page.get_by_role("heading", name=f"Execution #{execution_id}")).to_be_visible()
        expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    finally:
        with api(ui_server) as client:
            client.post(f"/api/v1/executions/{execution_id}/cancel")


def test_the_dashboard_shows_what_ran_what_waits_who_works_and_what_fires_next(
    page: Page, ui_server: RunningServer, tmp_path: Path
) -> None:
    with api(ui_server) as client:
        done = make_event(client, name="dash-done", language="bash", script="echo ok")
        ended(client, run(client, done["id"]))
        make_event(
            client,
            name="dash-hourly",
            language="bash",
            script="true",
            schedule={"kind": "cron", "cron": "0 * * * *", "timezone": "Europe/Paris"},
        )
        # a pool no worker serves: it waits in the queue
        waiting = make_event(client, name="dash-waits", language="bash", script="true", pool="gpu")
        waiting_id = run(client, waiting["id"])
    try:
        login(page, ui_server)
        recent = page.get_by_role("region", name="Recent executions")
        expect(recent.get_by_role("row").filter(has_text="dash-done")).to_contain_text("succeeded")
        expect(page.get_by_role("region", name="Next fires")).to_contain_text("dash-hourly")
        expect(page.get_by_test_id("queue-depth")).not_to_have_text("0")
        expect(page.get_by_test_id("workers-alive")).to_have_text("1")
        expect(page.get_by_role("region", name="Workers")).to_contain_text("slots free")
        screenshot(page, "dashboard", tmp_path)
        # live: a run made elsewhere appears without a reload
        with api(ui_server) as client:
            again = run(client, done["id"])
        expect(recent.get_by_role("link", name=f"#{again}")).to_be_visible(timeout=15_000)
    finally:
        with api(ui_server) as client:
            client.post(f"/api/v1/executions/{waiting_id}/cancel")


def test_the_executions_list_filters_by_status_and_keeps_it_in_the_address(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        event = make_event(client, name="list-mixed", language="bash", script="exit 1")
        good = make_event(client, name="list-good", language="bash", script="true")
        failed = run(client, event["id"])
        succeeded = run(client, good["id"])
        ended(client, failed)
        ended(client, succeeded)
    login(page, ui_server, path="/executions")
    table = page.get_by_role("table", name="Executions")
    expect(table.get_by_role("link", name=f"#{succeeded}")).to_be_visible()
    page.get_by_role("checkbox", name="succeeded").click()
    expect(page).to_have_url(f"{ui_server.url}/executions?status=succeeded")
    expect(table.get_by_role("link", name=f"#{succeeded}")).to_be_visible()
    expect(table.get_by_role("link", name=f"#{failed}")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("checkbox", name="succeeded")).to_be_checked()
    expect(table.get_by_role("link", name=f"#{failed}")).to_have_count(0)


def test_a_secret_a_script_prints_is_masked_and_never_reaches_the_page(
    page: Page, ui_server: RunningServer
) -> None:
    secret = "pw-that-must-never-show-7f3a"
    with api(ui_server) as client:
        stored = client.put("/api/v1/variables/DB_PASSWORD", json={"value": secret, "secret": True})
        assert stored.status_code == 200, stored.text
        script = 'echo "connecting with $DB_PASSWORD"; cat /run/secrets/TOKEN_FILE >&2'
        client.put("/api/v1/variables/TOKEN_FILE", json={"value": secret + "-f", "secret": True})
        event = make_event(
            client,
            name="uses-secrets",
            language="bash",
            script=script,
            secrets={"DB_PASSWORD": "env", "TOKEN_FILE": "file"},
        )
        execution_id = run(client, event["id"])
        ended(client, execution_id)
    login(page, ui_server, path=f"/executions/{execution_id}")
    log = page.get_by_role("log", name="Output lines")
    expect(log).to_contain_text("connecting with ***")
    page.get_by_role("link", name="uses-secrets").click()
    expect(page.get_by_role("heading", name="uses-secrets")).to_be_visible()
    page.get_by_role("navigation", name="The event").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="What it runs")).to_be_visible()
    assert secret not in page.content()
    assert not [body for body in answers(page) if secret in body]


def test_a_workflow_run_opens_on_its_own_page_and_a_node_links_back_to_it(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        step = make_event(client, name="wf-step", language="bash", script="echo step")
        made = client.post(
            "/api/v1/workflows",
            json={"name": "wf-one", "workflow": {"nodes": [{"name": "S", "event_id": step["id"]}]}},
        )
        assert made.status_code == 201, made.text
        run_id = client.post(f"/api/v1/workflows/{made.json()['id']}/run").json()["execution_id"]
        ended(client, run_id)
        [node] = [
            e for e in client.get("/api/v1/executions").json() if e.get("parent_id") == run_id
        ]
    login(page, ui_server, path="/executions")
    table = page.get_by_role("table", name="Executions")
    table.get_by_role("link", name=f"#{run_id}", exact=True).click()
    expect(page).to_have_url(f"{ui_server.url}/workflows/runs/{run_id}")
    page.goto(f"{ui_server.url}/executions/{run_id}")  # an old link: sent to the run's page
    expect(page).to_have_url(f"{ui_server.url}/workflows/runs/{run_id}")
    page.goto(f"{ui_server.url}/executions/{node['id']}")
    page.get_by_role("link", name=f"workflow run #{run_id}").click()
    expect(page).to_have_url(f"{ui_server.url}/workflows/runs/{run_id}")
