"""The app's shell: served by the server at /, login, deep links, sessions that end."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import PASSWORD, login, screenshot


def test_the_server_serves_the_app_with_its_security_headers(ui_server: RunningServer) -> None:
    answer = httpx.get(f"{ui_server.url}/events/42")  # a deep link: the app's page
    assert answer.status_code == 200
    assert '<div id="root">' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert httpx.get(f"{ui_server.url}/api/v1/nothing-here").json()["error"] == "not_found"
    assert httpx.get(f"{ui_server.url}/assets/missing.js").status_code == 404


def test_a_wrong_password_says_so_and_the_right_one_logs_in(
    page: Page, ui_server: RunningServer
) -> None:
    page.goto(f"{ui_server.url}/")
    expect(page).to_have_url(f"{ui_server.url}/login?next=%2F")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    screenshot(page, "login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("admin")


def test_a_deep_link_reloads_to_its_page_after_logging_in(
    page: Page, ui_server: RunningServer
) -> None:
    page.goto(f"{ui_server.url}/variables")
    expect(page).to_have_url(f"{ui_server.url}/login?next=%2Fvariables")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{ui_server.url}/variables")
    page.reload()
    expect(page).to_have_url(f"{ui_server.url}/variables")
    expect(page.get_by_role("link", name="Variables")).to_have_class("link active")


def test_an_ended_session_asks_to_log_in_again_and_comes_back(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/tokens")
    page.context.clear_cookies()  # as when the session expires
    page.get_by_role("link", name="Variables").click()
    expect(page).to_have_url(f"{ui_server.url}/login?next=%2Fvariables&expired=1")
    expect(page.get_by_role("status")).to_contain_text("session has ended")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{ui_server.url}/variables")
