"""The web UI's first page: how long until it is interactive in a real browser (not a test).

A real ``cronium server`` (SQLite, its defaults) serves the build; Debian's chromium (headless,
driven by Playwright) opens, each time in a fresh context (an empty cache, as a first visit):

- login: ``/login`` until its "Log in" button can be clicked (the first page a visitor sees);
- dashboard: ``/`` with a session until the queue's figure is drawn (its data fetched too);
- baseline, measured in the same run: a static file of the same server (``/favicon.svg``)
  opened the same way, which is what the browser and loopback cost by themselves.

Prints the medians over N runs in milliseconds, and the ratio to the baseline; then the size
of what the first page loads (its HTML, the scripts and styles it links, raw and gzipped)
against the budget of 350 KB of JavaScript, 110 KB gzipped.

    .venv/bin/python bench/ui_load.py [--runs 7]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, StorageState, sync_playwright

from cronium.web import DIST

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a password only this benchmark knows"
BUDGET_JS, BUDGET_JS_GZ = 350 * 1024, 110 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(dist: Path) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
        env |= {"CRONIUM_DATA_DIR": data, "CRONIUM_PORT": str(port)}
        env |= {"CRONIUM_LOG_LEVEL": "warning", "CRONIUM_WEB_DIST": str(dist)}
        process = subprocess.Popen(
            [sys.executable, "-m", "cronium", "server"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            token = _first_token(process)
            _wait_ready(url)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
                c.patch("/api/v1/users/admin", json={"password": PASSWORD}).raise_for_status()
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _first_token(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"CRONIUM_TOKEN=(crn_\S+)", line)
        if found:
            return found.group(1)
    raise RuntimeError("the server exited before printing its first token")


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become ready in 30 s")


def timed(
    browser: Browser, session: StorageState | None, open_page: Callable[[Page], None]
) -> float:
    """Milliseconds of ``open_page`` in a fresh context (an empty cache), with ``session``'s
    cookies if given."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, storage_state=session)
    page = context.new_page()
    started = time.perf_counter()
    open_page(page)
    elapsed = (time.perf_counter() - started) * 1000
    context.close()
    return elapsed


def logged_in(browser: Browser, url: str) -> StorageState:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/")
    session = context.storage_state()
    context.close()
    return session


def drawn(page: Page, condition: str) -> None:
    """Until ``condition`` holds, checked at every frame the page draws."""
    page.wait_for_function(f"() => {condition}", polling="raf")


def measure(url: str, runs: int) -> dict[str, list[float]]:
    def login(page: Page) -> None:
        page.goto(f"{url}/login")
        drawn(
            page, "[...document.querySelectorAll('button')].some(b => b.textContent === 'Log in')"
        )

    def dashboard(page: Page) -> None:
        page.goto(f"{url}/")
        drawn(page, "/\\d/.test(document.querySelector('[data-testid=queue-depth]')?.textContent)")

    def baseline(page: Page) -> None:
        page.goto(f"{url}/favicon.svg")

    times: dict[str, list[float]] = {"baseline": [], "login": [], "dashboard": []}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        session = logged_in(browser, url)
        timed(browser, session, dashboard)  # once unmeasured: the server's first answers
        for _ in range(runs):
            times["baseline"].append(timed(browser, None, baseline))
            times["login"].append(timed(browser, None, login))
            times["dashboard"].append(timed(browser, session, dashboard))
        browser.close()
    return times


def first_page_assets(dist: Path) -> list[Path]:
    """index.html and what it links: the entry script, its preloaded chunks, the styles."""
    html = (dist / "index.html").read_text()
    linked = re.findall(r'(?:src|href)="/(assets/[^"]+)"', html)
    return [dist / "index.html", *(dist / name for name in linked)]


def sizes(paths: list[Path]) -> tuple[int, int]:
    data = [path.read_bytes() for path in paths]
    return sum(map(len, data)), sum(len(gzip.compress(d, 9)) for d in data)


def main(runs: int, dist: Path) -> None:
    with server(dist) as url:
        times = measure(url, runs)
    base = statistics.median(times["baseline"])
    print(f"First page in headless chromium on loopback, median of {runs} runs (ms)")
    print(f"{'page':<12}{'min':>9}{'median':>9}{'max':>9}{'x baseline':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<12}{min(values):>9.0f}{median:>9.0f}{max(values):>9.0f}{median / base:>12.1f}"
        )
    assets = first_page_assets(dist)
    scripts = [path for path in assets if path.suffix == ".js"]
    js, js_gz = sizes(scripts)
    everything, everything_gz = sizes(assets)
    every_js, every_js_gz = sizes(sorted((dist / "assets").glob("*.js")))
    print()
    print(f"{'assets':<28}{'KB':>9}{'KB gzip':>9}")
    print(f"{'first page: JavaScript':<28}{js / 1024:>9.0f}{js_gz / 1024:>9.0f}")
    print(f"{'first page: all':<28}{everything / 1024:>9.0f}{everything_gz / 1024:>9.0f}")
    print(f"{'every page: JavaScript':<28}{every_js / 1024:>9.0f}{every_js_gz / 1024:>9.0f}")
    print(f"{'budget: first page JS':<28}{BUDGET_JS / 1024:>9.0f}{BUDGET_JS_GZ / 1024:>9.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--dist", type=Path, default=Path(os.environ.get("CRONIUM_WEB_DIST") or DIST)
    )
    arguments = parser.parse_args()
    main(arguments.runs, arguments.dist)
