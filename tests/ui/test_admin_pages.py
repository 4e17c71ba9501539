"""The administrators' pages: users and the audit log; hidden from everyone else."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import login, screenshot


def test_an_admin_makes_a_user_and_sees_it_in_the_audit_log(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/users")
    form = page.get_by_role("form", name="Create a user")
    form.get_by_label("Name").fill("dave")
    form.get_by_label("Role").select_option("viewer")
    form.get_by_label("Password (empty: API tokens only)").fill("aaaa")
    form.get_by_role("button", name="Create user").click()
    expect(form.locator('[data-field="password"]')).to_be_visible()
    form.get_by_label("Password (empty: API tokens only)").fill("four more words here")
    form.get_by_role("button", name="Create user").click()
    row = page.get_by_role("row").filter(has_text="dave")
    expect(row.get_by_label("Role of dave")).to_have_value("viewer")
    row.get_by_label("Role of dave").select_option("user")
    expect(row.get_by_label("Role of dave")).to_have_value("user")
    expect(page.get_by_role("status")).to_contain_text("dave is now a user")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("disabled")
    form.get_by_label("Name").fill("dave")
    form.get_by_role("button", name="Create user").click()
    expect(form.locator('[data-field="name"]')).to_contain_text("already exists")
    screenshot(page, "users")
    page.get_by_role("link", name="Audit log").click()
    entries = page.get_by_role("row").filter(has_text="dave")
    expect(entries.filter(has_text="user.create")).to_have_count(1)
    expect(entries.filter(has_text="user.set_role")).to_have_count(1)
    page.get_by_label("Action").select_option("user.set_role")
    expect(page.get_by_role("row").filter(has_text="user.create")).to_have_count(0)


def test_a_viewer_has_no_admin_pages(page: Page, ui_server: RunningServer) -> None:
    login(page, ui_server, "viewer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Variables")).to_be_visible()
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    for path in ("/users", "/audit"):
        page.goto(f"{ui_server.url}{path}")
        expect(page.get_by_role("alert")).to_contain_text("only for administrators")
        expect(page.get_by_role("form")).to_have_count(0)
        expect(page.get_by_role("search")).to_have_count(0)


def test_a_browser_login_is_recorded_with_the_address_it_came_from(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/audit")
    page.get_by_label("Action").select_option("auth.login")
    first = page.get_by_role("row").filter(has_text="auth.login").first
    expect(first).to_contain_text("127.0.0.1")
