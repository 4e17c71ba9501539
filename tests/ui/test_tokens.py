"""API tokens in the browser: made once and shown once, then usable; revoked at once."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import login


def test_a_token_is_shown_once_works_and_stops_when_revoked(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/tokens")
    page.get_by_label("Name", exact=True).fill("ci-from-the-ui")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("shown-once").inner_text()
    assert secret.startswith("crn_")
    me = httpx.get(
        f"{ui_server.url}/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert me.json()["name"] == "admin"
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("shown-once")).to_have_count(0)
    assert secret not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="ci-from-the-ui").get_by_role(
        "button", name="Revoke"
    ).click()
    expect(page.get_by_role("row").filter(has_text="ci-from-the-ui")).to_contain_text("revoked")
    gone = httpx.get(
        f"{ui_server.url}/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert gone.status_code == 401


def test_a_bad_expiry_is_refused_next_to_its_field(page: Page, ui_server: RunningServer) -> None:
    login(page, ui_server, path="/tokens")
    page.get_by_label("Name", exact=True).fill("never-made")
    page.get_by_label("Expires in (days; empty: never)").fill("-4")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator('[data-field="expires_in_days"]')).to_be_visible()
    page.get_by_label("Expires in (days; empty: never)").fill("abc")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator('[data-field="expires_in_days"]')).to_contain_text("not a whole number")
    expect(page.get_by_role("row").filter(has_text="never-made")).to_have_count(0)


def test_a_viewer_is_offered_only_the_scopes_its_role_allows(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, "viewer", path="/tokens")
    scopes = page.get_by_role("group", name="Scopes")
    expect(scopes.get_by_role("checkbox")).to_have_count(1)
    expect(scopes.get_by_role("checkbox", name="read")).to_be_checked()
    page.get_by_label("Name", exact=True).fill("viewer-token")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("shown-once")).to_be_visible()
