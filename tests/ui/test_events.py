"""The events pages in a real browser: the form and its template, the list, Run now, the
schedule checked as it is typed, versions, the webhook, what a viewer sees, refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import PHONE, VIEWPORT, api, login, screenshot

NIGHTLY = {"kind": "cron", "cron": "30 2 * * *", "timezone": "Europe/Paris"}


def make_event(
    server: RunningServer, name: str, script: str = "echo one\n", **settings: Any
) -> dict[str, Any]:
    body = {"name": name, "language": "bash", "script": script, **settings}
    with api(server) as client:
        made = client.post("/api/v1/events", json=body)
        assert made.status_code == 201, made.text
        event: dict[str, Any] = made.json()
        return event


def replace_input(page: Page, label: str, text: str) -> None:
    """Type into a code editor as a paste would (no auto-closed brackets)."""
    page.get_by_label(label).click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)


def test_a_python_event_from_the_template_is_saved_listed_and_run_with_an_input(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/events/new")
    script = page.get_by_label("Script", exact=True)
    expect(script).to_contain_text("cronium.set_variable(")
    page.get_by_label("Language").select_option("bash")
    expect(script).to_contain_text("cronium_set_variable runs")
    page.get_by_label("Language").select_option("python")
    expect(script).to_contain_text("cronium.input()")
    page.get_by_label("Name", exact=True).fill("greet-in-python")
    page.get_by_label("Tags (comma-separated)").fill("demo, python")
    screenshot(page, "event-editor")
    page.get_by_role("button", name="Create event").click()
    page.wait_for_url(re.compile(r"/events/\d+$"))
    event_id = int(page.url.rsplit("/", 1)[1])
    with api(ui_server) as client:
        stored = client.get(f"/api/v1/events/{event_id}").json()
    assert stored["language"] == "python"
    assert "cronium.output(" in stored["script"]
    assert stored["tags"] == ["demo", "python"]

    nightly = make_event(ui_server, "nightly-backup", tags=["ops"], schedule=NIGHTLY)
    with api(ui_server) as client:
        ran = client.post(f"/api/v1/events/{nightly['id']}/run")
        assert ran.status_code == 202, ran.text
    page.get_by_role("link", name="Events", exact=True).click()
    row = page.get_by_role("row").filter(has_text="greet-in-python")
    expect(row).to_contain_text("python")
    expect(row).to_contain_text("never ran")
    scheduled = page.get_by_role("row").filter(has_text="nightly-backup")
    expect(scheduled).to_contain_text("At 02:30 (Europe/Paris)")
    last_run = scheduled.get_by_role("link", name=f"Execution {ran.json()['execution_id']}:")
    expect(last_run).to_have_attribute("href", f"/executions/{ran.json()['execution_id']}")
    page.get_by_label("Tag").select_option("ops")
    expect(row).to_have_count(0)
    expect(scheduled).to_be_visible()
    page.get_by_label("Tag").select_option("")
    screenshot(page, "events")
    page.get_by_label("Search by name").fill("greet-in")
    expect(page).to_have_url(re.compile(r"\?q=greet-in$"))
    page.reload()
    expect(page.get_by_label("Search by name")).to_have_value("greet-in")
    expect(row).to_be_visible()
    expect(scheduled).to_have_count(0)

    row.get_by_role("link", name="greet-in-python").click()
    page.get_by_role("button", name="Run now").click()
    dialog = page.get_by_role("dialog")
    replace_input(page, "Input (JSON)", "{who: 1}")
    dialog.get_by_role("button", name="Run", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("input: is not valid JSON")
    replace_input(page, "Input (JSON)", '{"who": "world"}')
    dialog.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/executions/\d+$"))
    execution_id = int(page.url.rsplit("/", 1)[1])
    with api(ui_server) as client:
        execution = client.get(f"/api/v1/executions/{execution_id}").json()
    assert execution["event_id"] == event_id
    assert execution["input"] == {"who": "world"}


@pytest.fixture
def new_york_page(browser: Browser, ui_server: RunningServer) -> Iterator[Page]:
    """A browser in New York, so that the event's zone and the browser's differ."""
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        timezone_id="America/New_York",
        locale="en-US",
    )
    context.set_default_timeout(15_000)
    yield login(context.new_page(), ui_server, path="/events/new")
    context.close()


def test_a_cron_schedule_is_described_and_its_next_fires_shown_in_both_zones_as_typed(
    new_york_page: Page,
) -> None:
    page = new_york_page
    page.get_by_label("Schedule", exact=True).select_option("cron")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_label("Cron expression").fill("30 9 * * 1-5")
    expect(page.get_by_text("At 09:30, Monday through Friday (Asia/Tokyo time)")).to_be_visible()
    fires = page.get_by_role("table", name="Next fires")
    expect(fires.get_by_role("columnheader")).to_have_text(
        ["Next fires (Asia/Tokyo)", "Your time (America/New_York)"]
    )
    expect(fires.get_by_role("row")).to_have_count(6)
    tokyo = fires.locator("tbody td:nth-child(1)")
    new_york = fires.locator("tbody td:nth-child(2)")
    expect(tokyo).to_have_text([re.compile(r"09:30:00 AM")] * 5)
    # 09:30 in Tokyo is 19:30 or 20:30 of the day before in New York (with its summer time)
    expect(new_york).to_have_text([re.compile(r"0[78]:30:00 PM")] * 5)
    expect(page.get_by_text("Valid.")).to_be_visible()
    page.get_by_role("heading", name="When it runs").evaluate("h => h.scrollIntoView()")
    screenshot(page, "event-schedule")

    page.get_by_label("Cron expression").fill("61 * * * *")
    expect(page.locator('[data-field="schedule"]')).to_have_text(
        re.compile(r"^cron expression '61 \* \* \* \*' is not valid")
    )
    expect(fires).to_have_count(0)


def test_two_versions_are_compared_line_by_line_and_an_older_one_restored(
    page: Page, ui_server: RunningServer
) -> None:
    event = make_event(ui_server, "versioned", "echo one\necho same\n")
    with api(ui_server) as client:
        changed = client.patch(
            f"/api/v1/events/{event['id']}", json={"script": "echo two\necho same\n", "cpus": 1}
        )
        assert changed.json()["version"] == 2, changed.text
    login(page, ui_server, path=f"/events/{event['id']}/versions")
    page.get_by_label("From version", exact=True).select_option("1")
    page.get_by_label("To version", exact=True).select_option("2")
    diff = page.get_by_label("Changes from version 1 to version 2")
    expect(diff.locator(".events-del")).to_have_text(["- echo one", '-   "cpus": 0.5,'])
    expect(diff.locator(".events-add")).to_have_text(["+ echo two", '+   "cpus": 1,'])
    expect(diff).to_contain_text("  echo same")

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_role("row").filter(has_text="restored from 1")).to_contain_text("current")
    assert "its script and all its settings (schedule, limits" in asked[0]
    assert asked[0].endswith("replace the current ones, as a new version.")
    with api(ui_server) as client:
        restored = client.get(f"/api/v1/events/{event['id']}").json()
    assert (restored["version"], restored["script"]) == (3, "echo one\necho same\n")


def test_a_webhook_url_is_shown_once_and_works(page: Page, ui_server: RunningServer) -> None:
    event = make_event(ui_server, "hooked")
    login(page, ui_server, path=f"/events/{event['id']}/webhook")
    page.get_by_role("button", name="Create webhook").click()
    url = page.get_by_test_id("shown-once").inner_text()
    assert "/hooks/" in url
    fired = httpx.post(url, json={"from": "test"})
    assert fired.status_code == 202, fired.text
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("shown-once")).to_have_count(0)
    expect(page.get_by_text("The event has a webhook.")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="New key")).to_be_visible()
    assert url.rsplit("/", 1)[1] not in page.content()


def test_a_viewer_sees_a_shared_event_but_no_controls_to_change_or_run_it(
    page: Page, ui_server: RunningServer
) -> None:
    event = make_event(ui_server, "shared-with-viewer")
    with api(ui_server) as client:
        shared = client.put(
            f"/api/v1/events/{event['id']}/shares", json={"user": "viewer", "role": "viewer"}
        )
        assert shared.status_code == 200, shared.text
    login(page, ui_server, "viewer", path="/events")
    expect(page.get_by_role("link", name="shared-with-viewer")).to_be_visible()
    expect(page.get_by_role("link", name="New event")).to_have_count(0)
    page.get_by_role("link", name="shared-with-viewer").click()
    expect(page.get_by_role("heading", name="shared-with-viewer")).to_be_visible()
    expect(page.get_by_label("Script (read-only)")).to_contain_text("echo one")
    for name in ("Run now", "Pause", "Delete"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("row").filter(has_text="current")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)


def test_a_save_the_api_refuses_shows_its_message_under_the_field(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/events/new")
    page.get_by_label("Name", exact=True).fill("too-big")
    page.get_by_label("CPUs").fill("999")
    page.get_by_role("button", name="Create event").click()
    cpus = page.locator(".field").filter(has=page.get_by_label("CPUs"))
    expect(cpus.get_by_role("alert")).to_contain_text(re.compile(r"^cpus: "))
    expect(cpus.get_by_role("alert")).to_be_in_viewport()
    expect(page.get_by_label("CPUs")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/events/new$"))

    make_event(ui_server, "taken-name")
    page.get_by_label("CPUs").fill("1")
    page.get_by_label("Name", exact=True).fill("taken-name")
    page.get_by_role("button", name="Create event").click()
    name = page.locator(".field").filter(has=page.get_by_label("Name", exact=True))
    expect(name.get_by_role("alert")).to_have_text("an event named 'taken-name' already exists")
    expect(cpus.get_by_role("alert")).to_have_count(0)

    event = make_event(ui_server, "edited-badly")
    page.goto(f"{ui_server.url}/events/{event['id']}/edit")
    page.get_by_label("Memory (MiB)").fill("1")
    page.get_by_role("button", name="Save changes").click()
    memory = page.locator(".field").filter(has=page.get_by_label("Memory (MiB)"))
    expect(memory.get_by_role("alert")).to_contain_text(re.compile(r"^memory_mb: "))


def test_the_owner_edits_pauses_shares_and_deletes_an_event(
    page: Page, ui_server: RunningServer
) -> None:
    event = make_event(ui_server, "looked-after", schedule=NIGHTLY)
    login(page, ui_server, path=f"/events/{event['id']}")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(1)
    expect(page.get_by_text("Scheduled runs")).to_have_count(0)
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Description").fill("Keeps the backups tidy.")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(rf"/events/{event['id']}$"))
    expect(page.get_by_text("Keeps the backups tidy.")).to_be_visible()

    page.get_by_role("button", name="Pause").click()
    header = page.get_by_role("heading", name="looked-after")
    expect(header).to_contain_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(header).to_contain_text("active")

    with api(ui_server) as client:
        limited = client.patch(f"/api/v1/events/{event['id']}", json={"max_executions": 5})
        assert limited.status_code == 200, limited.text
    page.reload()
    expect(page.get_by_text("0 of 5, then it pauses")).to_be_visible()

    page.get_by_role("link", name="Sharing").click()
    page.get_by_label("User name").fill("viewer")
    page.get_by_label("As").select_option("operator")
    page.get_by_role("button", name="Share", exact=True).click()
    role = page.locator(".field").filter(has=page.get_by_label("As"))
    expect(role.get_by_role("alert")).to_contain_text("share as viewer")
    page.get_by_label("As").select_option("viewer")
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="viewer")).to_contain_text("viewer")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove viewer").click()
    expect(page.get_by_text("Not shared with anyone.")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/events$"))
    expect(page.get_by_role("link", name="looked-after")).to_have_count(0)
    with api(ui_server) as client:
        assert client.get(f"/api/v1/events/{event['id']}").status_code == 404


def test_a_failed_schedule_save_shows_its_field_and_goes_once_the_schedule_is_fixed(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/events/new")
    page.get_by_label("Name", exact=True).fill("minute-sixty-one")
    page.get_by_label("Schedule", exact=True).select_option("cron")
    cron = page.get_by_label("Cron expression")
    cron.fill("61 * * * *")
    page.get_by_role("button", name="Create event").click()
    when = page.get_by_role("region", name="When it runs")
    # the live check's message and the save's, both under the schedule (the check is asked
    # once the typing has stopped, and may come after the save's answer)
    expect(when.get_by_role("alert")).to_have_count(2, timeout=15_000)
    expect(when.get_by_role("alert").last).to_be_in_viewport()
    expect(cron).to_be_focused()
    expect(page.get_by_text("Not saved: see the message under its field above.")).to_be_visible()

    cron.fill("30 * * * *")
    expect(when.get_by_text("Valid.")).to_be_visible()
    expect(when.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_text("Not saved: see the message under its field above.")).to_have_count(0)
    page.get_by_role("button", name="Create event").click()
    page.wait_for_url(re.compile(r"/events/\d+$"))


def test_a_one_off_is_typed_in_the_browsers_zone_without_a_zone_to_pick(
    new_york_page: Page, ui_server: RunningServer
) -> None:
    page = new_york_page
    page.get_by_label("Name", exact=True).fill("new-year-reminder")
    page.get_by_label("Schedule", exact=True).select_option("cron")
    expect(page.get_by_label("Time zone")).to_be_visible()
    page.get_by_label("Schedule", exact=True).select_option("once")
    expect(page.get_by_label("Time zone")).to_have_count(0)
    page.get_by_label("At (your time, America/New_York)").fill("2031-01-15T09:00")
    fires = page.get_by_role("table", name="Next fires")
    expect(fires.get_by_role("columnheader")).to_have_text(["Next fires (America/New_York)"])
    expect(fires.locator("tbody td")).to_have_text([re.compile(r"09:00:00 AM")])
    page.get_by_role("button", name="Create event").click()
    page.wait_for_url(re.compile(r"/events/\d+$"))
    with api(ui_server) as client:
        stored = client.get(f"/api/v1/events/{page.url.rsplit('/', 1)[1]}").json()
    at = datetime.fromisoformat(stored["schedule"]["at"])
    assert at == datetime(2031, 1, 15, 14, 0, tzinfo=UTC)  # 09:00 in New York, in winter
    assert stored["schedule"]["timezone"] == "America/New_York"


def test_an_environment_variable_or_a_secret_given_twice_is_refused_before_sending(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/events/new")
    page.get_by_label("Name", exact=True).fill("twice-named")
    env = page.get_by_role("group", name="Environment variables")
    for index, value in ((1, "one"), (2, "two")):
        env.get_by_role("button", name="Add environment variable").click()
        env.get_by_label(f"environment variable {index} name").fill("FOO")
        env.get_by_label(f"environment variable {index} value").fill(value)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.method))
    page.get_by_role("button", name="Create event").click()
    refusal = page.get_by_role("region", name="Sandbox").get_by_role("alert")
    expect(refusal).to_have_text("env: FOO is given twice")
    expect(env.get_by_label("environment variable 1 name")).to_be_focused()
    env.get_by_label("environment variable 2 name").fill("BAR")
    expect(refusal).to_have_count(0)

    secrets = page.get_by_role("group", name="Secrets")
    for index in (1, 2):
        secrets.get_by_role("button", name="Add secret").click()
        secrets.get_by_label(f"secret {index} variable key").fill("TOKEN")
    page.get_by_role("button", name="Create event").click()
    expect(refusal).to_have_text("secrets: TOKEN is given twice")
    assert "POST" not in sent
    with api(ui_server) as client:
        names = [event["name"] for event in client.get("/api/v1/events").json()]
    assert "twice-named" not in names


def test_a_workflow_opened_as_an_event_goes_to_its_own_page(
    page: Page, ui_server: RunningServer
) -> None:
    step = make_event(ui_server, "workflow-step")
    with api(ui_server) as client:
        made = client.post(
            "/api/v1/workflows",
            json={
                "name": "flow-not-an-event",
                "workflow": {"nodes": [{"name": "A", "event_id": step["id"]}], "edges": []},
            },
        )
        assert made.status_code == 201, made.text
    flow = made.json()["id"]
    login(page, ui_server, path="/events")
    expect(page.get_by_role("link", name="workflow-step")).to_be_visible()
    expect(page.get_by_role("link", name="flow-not-an-event")).to_have_count(0)
    page.goto(f"{ui_server.url}/events/{flow}/edit")
    expect(page).to_have_url(f"{ui_server.url}/workflows/{flow}")
    expect(page.get_by_role("heading", name="flow-not-an-event")).to_be_visible()
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    page.go_back()  # the event address was replaced, not kept to bounce back from
    expect(page).to_have_url(f"{ui_server.url}/events")


def number(value: float) -> str:
    """A bound as the form writes it: 86,400 or 0.05."""
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def test_the_limits_inputs_tell_the_apis_bounds_before_saving(
    page: Page, ui_server: RunningServer
) -> None:
    described = httpx.get(f"{ui_server.url}/openapi.json").json()
    fields = described["components"]["schemas"]["EventCreate"]["properties"]
    inputs = {
        "CPUs": "cpus",
        "Memory (MiB)": "memory_mb",
        "Processes": "pids",
        "Timeout (seconds)": "timeout_seconds",
        "Attempts in all": "max_attempts",
        "Wait before a retry (seconds, doubled each time)": "retry_backoff_seconds",
        "Longest wait (seconds)": "retry_backoff_max_seconds",
        "Catch up at most (seconds back)": "catch_up_seconds",
        "Runs at once at most (empty: no limit)": "max_concurrent",
        "Pause after this many runs (empty: never)": "max_executions",
    }
    login(page, ui_server, path="/events/new")
    for label, name in inputs.items():
        bounds = next(part for part in fields[name]["anyOf"] if part["type"] != "null")
        field = page.get_by_label(label, exact=True)
        low, high = bounds["minimum"], bounds.get("maximum")
        assert float(field.get_attribute("min") or "nan") == low, name
        if high is None:
            assert field.get_attribute("max") is None, name
            expect(field).to_have_accessible_description(f"{number(low)} or more")
        else:
            assert float(field.get_attribute("max") or "nan") == high, name
            expect(field).to_have_accessible_description(f"{number(low)} to {number(high)}")
        step = "1" if bounds["type"] == "integer" else "any"
        expect(field).to_have_attribute("step", step)


def test_on_a_phone_the_events_table_keeps_to_the_screen(
    browser: Browser, ui_server: RunningServer
) -> None:
    event = make_event(ui_server, "phone-sized-nightly", tags=["ops", "nightly"], schedule=NIGHTLY)
    with api(ui_server) as client:
        assert client.post(f"/api/v1/events/{event['id']}/run").status_code == 202
    context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = login(context.new_page(), ui_server, path="/events")
    try:
        table = page.get_by_role("table")
        row = page.get_by_role("row").filter(has_text="phone-sized-nightly")
        expect(row).to_contain_text("succeeded")
        expect(table.get_by_role("columnheader")).to_have_text(
            ["Name", "Kind", "Status", "Last result"]
        )
        wrap = page.locator(".table-wrap")
        assert wrap.evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
        line = float(row.evaluate("row => parseFloat(getComputedStyle(row).lineHeight)"))
        height = (row.bounding_box() or {"height": 0.0})["height"]
        assert height <= 3 * line, (height, line)
        screenshot(page, "events-phone")
    finally:
        context.close()
