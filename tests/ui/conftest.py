"""The web UI's end-to-end tests: Debian's chromium, driven by Playwright, against a real
server on SQLite with real sandboxes.

Fixtures: ``ui_server`` (one server for the module, with the administrator ``admin`` and a
``viewer``, both with the password ``PASSWORD``), ``browser``, ``page`` (a fresh context at
1280 x 800, nothing logged in) and ``admin_page`` / ``viewer_page`` (logged in). Every page keeps
the bodies of the API's answers it received (``answers(page)``) for the secrets checks.

``CRONIUM_WEB_DIST`` (a build made with ``CRONIUM_UI_OUT``) is served instead of the package's.

Screenshots: ``screenshot(page, name)`` writes ``name.png`` into ``CRONIUM_SCREENSHOTS`` when it
is set (`make screenshots` sets it to docs/screenshots), else into the test's temporary dir.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from cronium.web import DIST
from tests.backends import missing
from tests.e2e.server import RunningServer, default_server

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "four words make a password"
VIEWPORT = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WEB_DIST = Path(os.environ.get("CRONIUM_WEB_DIST") or DIST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # a whole journey in a real browser with real sandboxes takes longer than a unit test
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(pytest.mark.timeout(180))


# per module, not per session: the sync driver's event loop, while it lives, is the running
# loop of the main thread, which the asyncio tests collected after these need
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing: apt-get install chromium")
    if not (WEB_DIST / "index.html").is_file():
        missing(f"the web UI is not built ({WEB_DIST} has no index.html): run make install")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # launch() gives the browser a fresh, empty user-data dir of its own
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    web = {"CRONIUM_WEB_DIST": str(WEB_DIST)}
    for server in default_server(tmp_path_factory.mktemp("ui-server"), web):
        with server.client() as client:
            changed = client.patch("/api/v1/users/admin", json={"password": PASSWORD})
            assert changed.status_code == 200, changed.text
            made = client.post(
                "/api/v1/users", json={"name": "viewer", "role": "viewer", "password": PASSWORD}
            )
            assert made.status_code == 201, made.text
        yield server


def api(server: RunningServer) -> httpx.Client:
    """The administrator's API client (its token), to arrange what a test needs."""
    return server.client()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    created.set_default_timeout(15_000)
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    opened = context.new_page()
    bodies: list[str] = []
    opened.on("response", lambda response: _keep(response, bodies))
    opened.answers = bodies  # type: ignore[attr-defined]
    return opened


def _keep(response: object, bodies: list[str]) -> None:
    from playwright.sync_api import Response

    assert isinstance(response, Response)
    if "/api/" not in response.url:
        return
    with contextlib.suppress(Exception):  # a stream still open, or no body
        bodies.append(response.text())


def answers(page: Page) -> list[str]:
    """The bodies of the API's answers the page has received so far."""
    kept: list[str] = page.answers  # type: ignore[attr-defined]
    return kept


def login(page: Page, server: RunningServer, name: str = "admin", path: str = "/") -> Page:
    """Log in through the login form, then open ``path``."""
    page.goto(f"{server.url}/login?next={path}")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}{path}")
    return page


@pytest.fixture
def admin_page(page: Page, ui_server: RunningServer) -> Page:
    return login(page, ui_server)


@pytest.fixture
def viewer_page(page: Page, ui_server: RunningServer) -> Page:
    return login(page, ui_server, "viewer")


def screenshot(page: Page, name: str, tmp_path: Path | None = None) -> Path:
    """A PNG of the page, into docs/screenshots under `make screenshots`."""
    folder = os.environ.get("CRONIUM_SCREENSHOTS")
    target = Path(folder) if folder else (tmp_path or Path(tempfile.mkdtemp()))
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
