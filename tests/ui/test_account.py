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
