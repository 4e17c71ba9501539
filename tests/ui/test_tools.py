"""The tools page: a webhook tool added with a secret header, a test message really sent to a
loopback server, and the credentials never in the page or in what it received."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer, default_server
from tests.loopback import Hooks, hooks
from tests.ui.conftest import PASSWORD, WEB_DIST, answers, login, screenshot

SECRET = "Bearer tool-secret-that-must-never-show"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # the test's webhook listens on loopback, which tools may reach only when allowed
    env = {"CRONIUM_WEB_DIST": str(WEB_DIST), "CRONIUM_HTTP_ALLOW_PRIVATE": "true"}
    for server in default_server(tmp_path_factory.mktemp("ui-tools"), env):
        with server.client() as client:
            changed = client.patch("/api/v1/users/admin", json={"password": PASSWORD})
            assert changed.status_code == 200, changed.text
        yield server


@pytest.fixture
def receiver() -> Iterator[Hooks]:
    with hooks() as received:
        yield received


def test_a_webhook_tool_is_added_tested_and_its_secret_never_shown(
    page: Page, ui_server: RunningServer, receiver: Hooks, tmp_path: Path
) -> None:
    login(page, ui_server, path="/tools")
    form = page.get_by_role("form", name="Add a tool")
    form.get_by_label("Name").fill("hook")
    form.get_by_label("Kind").select_option("webhook")
    form.get_by_label("URL").fill(receiver.url + "/in")
    form.get_by_label("Headers").fill(f"Authorization: {SECRET}")
    form.get_by_role("button", name="Add the tool").click()
    row = page.get_by_role("table", name="Tools").get_by_role("row").filter(has_text="hook")
    expect(row).to_contain_text("webhook")
    expect(row).to_contain_text("Authorization")  # the header's name, not its value

    row.get_by_role("button", name="Test").click()
    expect(page.get_by_test_id("test-result")).to_contain_text("sent (200)")
    [request] = receiver.at("/in")
    assert request.headers["Authorization"] == SECRET
    deliveries = page.get_by_role("table", name="Deliveries")
    expect(deliveries.get_by_role("row").filter(has_text="hook")).to_contain_text("sent")
    screenshot(page, "tools", tmp_path)

    page.reload()
    expect(page.get_by_role("table", name="Tools")).to_contain_text("hook")
    assert "tool-secret" not in page.content()
    assert not [body for body in answers(page) if "tool-secret" in body]


def test_a_refused_tool_says_why_and_keeps_the_form(page: Page, ui_server: RunningServer) -> None:
    login(page, ui_server, path="/tools")
    form = page.get_by_role("form", name="Add a tool")
    form.get_by_label("Name").fill("bad name!")
    form.get_by_label("Webhook URL").fill("https://hooks.example.com/x")
    form.get_by_role("button", name="Add the tool").click()
    expect(form.get_by_role("alert")).to_be_visible()
    expect(form.get_by_label("Name")).to_have_value("bad name!")
