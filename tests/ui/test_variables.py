"""The variables page: plain values shown, a secret's value never in the page or its answers."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import answers, api, login, screenshot

SECRET = "s3cr3t-value-that-must-never-show"


def test_a_secret_is_never_in_the_page_nor_in_what_it_received(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        stored = client.put("/api/v1/variables/db_password", json={"value": SECRET, "secret": True})
        assert stored.status_code == 200, stored.text
    login(page, ui_server, path="/variables")
    row = page.get_by_role("row").filter(has_text="db_password")
    expect(row).to_contain_text("secret")
    assert SECRET not in page.content()
    assert not [body for body in answers(page) if SECRET in body]
    screenshot(page, "variables")


def test_a_variable_set_in_the_form_is_listed_and_a_bad_key_is_refused_next_to_it(
    page: Page, ui_server: RunningServer
) -> None:
    login(page, ui_server, path="/variables")
    page.get_by_label("Key").fill("retries")
    page.get_by_label("Value (JSON, or text)").fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row").filter(has_text="retries")).to_contain_text("3")
    page.get_by_label("Key").fill("bad key!")
    page.get_by_label("Value (JSON, or text)").fill("1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_a_viewer_sees_variables_but_no_form(page: Page, ui_server: RunningServer) -> None:
    login(page, ui_server, "viewer", path="/variables")
    expect(page.get_by_role("heading", name="Variables")).to_be_visible()
    expect(page.get_by_role("form", name="Set a variable")).to_have_count(0)


def test_a_long_value_is_cut_and_its_row_keeps_its_buttons_in_view(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        stored = client.put("/api/v1/variables/big", json={"value": "x" * 200_000})
        assert stored.status_code == 200, stored.text
        client.put("/api/v1/variables/token", json={"value": SECRET + "-2", "secret": True})
    login(page, ui_server, path="/variables")
    row = page.get_by_role("row").filter(has_text="big")
    delete = row.get_by_role("button", name="Delete")
    box = delete.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 1280, box
    row.get_by_role("button", name=re.compile(r"^all [0-9,]+ characters$")).click()
    expect(row).to_contain_text("x" * 1000)
    secret_row = page.get_by_role("row").filter(has_text="token")
    secret_row.get_by_role("button", name="Reveal").click()
    expect(secret_row).to_contain_text(SECRET + "-2")
    secret_row.get_by_role("button", name="Hide").click()
    expect(secret_row).not_to_contain_text(SECRET)
