"""Changing one's own password in the browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import PASSWORD, api, login


def test_a_user_changes_their_password_and_a_weak_one_is_refused(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        made = client.post(
            "/api/v1/users", json={"name": "carol", "role": "user", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
    login(page, ui_server, "carol", path="/account")
    form = page.get_by_role("form", name="Change the password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("aaaa")
    page.get_by_label("New password, again").fill("aaaa")
    form.get_by_role("button", name="Change the password").click()
    expect(form.get_by_role("alert")).to_contain_text("password")
    page.get_by_label("New password", exact=True).fill("another four words here")
    page.get_by_label("New password, again").fill("another four words here")
    form.get_by_role("button", name="Change the password").click()
    expect(form.get_by_role("status")).to_contain_text("changed")


def test_a_wrong_current_password_is_said_so_under_its_field(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        made = client.post(
            "/api/v1/users", json={"name": "dave", "role": "user", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
    login(page, ui_server, "dave", path="/account")
    form = page.get_by_role("form", name="Change the password")
    page.get_by_label("Current password").fill("not my password at all")
    page.get_by_label("New password", exact=True).fill("another four words here")
    page.get_by_label("New password, again").fill("another four words here")
    form.get_by_role("button", name="Change the password").click()
    refusal = form.locator('[data-field="current_password"]')
    expect(refusal).to_contain_text("this is not your current password")
