"""Ten thousand executions in the list: fetched a page at a time as it scrolls, and only the
rows in view are in the page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect

from tests.e2e.server import RunningServer
from tests.ui.conftest import api, login

COUNT = 10_000


def test_ten_thousand_executions_scroll_to_the_first_with_few_rows_in_the_page(
    page: Page, ui_server: RunningServer
) -> None:
    with api(ui_server) as client:
        # a pool no worker serves: they all stay queued, and nothing runs meanwhile
        made = client.post(
            "/api/v1/events",
            json={"name": "many", "language": "bash", "script": "true", "pool": "idle"},
        )
        assert made.status_code == 201, made.text
        url = f"/api/v1/events/{made.json()['id']}/run"
        with ThreadPoolExecutor(4) as pool:
            ids = sorted(pool.map(lambda _: client.post(url).json()["execution_id"], range(COUNT)))
    login(page, ui_server, path="/executions")
    table = page.get_by_role("table", name="Executions")
    expect(table.get_by_role("link", name=f"#{ids[-1]}", exact=True)).to_be_visible()
    scroller = page.get_by_test_id("executions-scroll")
    status = page.get_by_text(f"{COUNT} shown", exact=True)
    for _ in range(200):  # bounded: each scroll to the end fetches the next page
        scroller.evaluate("box => box.scrollTo(0, box.scrollHeight)")
        if status.count():
            break
        page.wait_for_timeout(50)
    expect(status).to_be_visible()
    expect(table.get_by_role("link", name=f"#{ids[0]}", exact=True)).to_be_visible()
    assert table.locator("tbody tr").count() < 100  # virtual: only what is in view
