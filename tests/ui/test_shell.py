"""The app's shell: served by the server at /, login, deep links, sessions that end."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import PASSWORD, PHONE, login, screenshot


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


def test_a_lost_connection_is_announced_and_the_page_catches_up_when_it_is_back(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/variables")
    expect(page.get_by_role("heading", name="Variables")).to_be_visible()
    # the server unreachable: every request fails as when the network is gone
    page.route("**/*", lambda route: route.abort("connectionrefused"))
    page.get_by_role("link", name="Executions").click()
    expect(page.get_by_test_id("connection-lost")).to_be_visible(timeout=15_000)
    page.unroute("**/*")
    expect(page.get_by_test_id("connection-lost")).to_have_count(0, timeout=15_000)
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    expect(
        page.get_by_role("table", name="Executions").or_(page.get_by_text("No executions"))
    ).to_be_visible()


def test_on_a_phone_the_navigation_folds_behind_a_menu_and_nothing_overflows(
    page: Page, ui_server: RunningServer
) -> None:
    page.set_viewport_size(PHONE)
    login(page, ui_server)
    menu = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("link", name="Events")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Events").click()
    expect(page).to_have_url(f"{ui_server.url}/events")
    expect(page.get_by_role("link", name="Variables")).to_be_hidden()  # folded again
    menu.click()
    page.get_by_role("link", name="Variables").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Variables")).to_be_hidden()
    expect(menu).to_be_focused()
    for path in ("/", "/events", "/executions", "/variables", "/tools", "/tokens"):
        page.goto(f"{ui_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
    screenshot(page, "phone")


def test_the_keyboard_reaches_every_link_with_a_visible_focus(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server)
    page.reload()  # the focus from the start of the page
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the page")
    expect(skip).to_be_focused()
    reached: list[str] = []
    for _ in range(14):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.textContent.trim(), s.outlineStyle, s.outlineWidth]; }"
        )
        assert focused[1] != "none", f"{focused[0]} has no visible focus"
        assert focused[2] != "0px", f"{focused[0]} has no visible focus"
        reached.append(focused[0])
    assert {"Dashboard", "Events", "Workflows", "Executions", "Variables"} <= set(reached)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(f"{ui_server.url}/login")


def test_the_dark_theme_follows_the_system(page: Page, ui_server: RunningServer) -> None:
    login(page, ui_server)
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    assert light == "rgb(246, 247, 249)"
    assert dark == "rgb(15, 19, 24)"
    expect(page.get_by_test_id("queue-depth")).to_have_text(re.compile(r"^\d+$"))
    expect(page.get_by_text("Loading…")).to_have_count(0)
    screenshot(page, "dashboard-dark")
