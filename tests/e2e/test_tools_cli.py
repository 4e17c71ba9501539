"""``cronium tools`` against a real server process, with real servers on loopback receiving
the test messages and a failing event's notification."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from tests.backends import missing
from tests.e2e.server import RunningServer, cli, create_event, run_event, start_server
from tests.loopback import Hooks, Mailbox, hooks, mailbox
from tests.polling import until_sync

SECRET_PATH = "/services/T0/B0/hook-token-5581"


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[Hooks, Mailbox]]:
    with hooks() as http, mailbox() as smtp:
        yield http, smtp


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    quick = {"CRONIUM_DELIVERY_BACKOFF": "0.05", "CRONIUM_DELIVERY_BACKOFF_MAX": "0.2"}
    env = {"CRONIUM_HTTP_ALLOW_PRIVATE": "true", **quick}
    running = start_server(tmp_path_factory.mktemp("data"), env)
    yield running
    running.stop()


def test_tools_are_added_listed_tested_and_deleted(
    server: RunningServer, receivers: tuple[Hooks, Mailbox], tmp_path: Path
) -> None:
    http, smtp = receivers
    credentials = tmp_path / "slack.json"
    credentials.write_text(json.dumps({"webhook_url": http.url + SECRET_PATH}))
    added = cli(server, "tools", "add", "team", "--kind", "slack", "--from-file", str(credentials))
    assert added.returncode == 0, added.stderr
    assert "hook-token" not in added.stdout
    mail = cli(server, "tools", "add", "mail", "--kind", "email", "--set", "host=127.0.0.1",
               "--set", f"port={smtp.port}", "--set", "tls=none",
               "--set", "sender=cronium@example.com")  # fmt: skip
    assert mail.returncode == 0, mail.stderr

    listed = cli(server, "tools", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "hook-token" not in listed.stdout
    assert {t["name"]: t["kind"] for t in json.loads(listed.stdout)} == {
        "mail": "email",
        "team": "slack",
    }

    tested = cli(server, "tools", "test", "team")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert http.at(SECRET_PATH)[0].json()["text"].startswith("Cronium test message")
    emailed = cli(server, "tools", "test", "mail", "--to", "me@example.com")
    assert emailed.returncode == 0, emailed.stdout + emailed.stderr
    assert smtp.mails[-1].recipients == ["me@example.com"]

    again = cli(server, "tools", "add", "team", "--kind", "slack", "--from-file", str(credentials))
    assert again.returncode != 0
    assert "already have a tool named 'team'" in again.stderr
    bad = cli(server, "tools", "add", "x", "--kind", "pager", "--set", "url=http://a")
    assert bad.returncode != 0
    assert "kind" in bad.stderr

    assert cli(server, "tools", "delete", "team").returncode == 0
    gone = cli(server, "tools", "test", "team")
    assert gone.returncode != 0
    assert "no tool named 'team'" in gone.stderr


def test_a_failing_event_notifies_and_its_deliveries_are_listed(
    server: RunningServer, receivers: tuple[Hooks, Mailbox], tmp_path: Path
) -> None:
    http, _ = receivers
    credentials = tmp_path / "hook.json"
    credentials.write_text(json.dumps({"url": http.answer("/alerts", 502, 200)}))
    assert cli(server, "tools", "add", "alerts", "--kind", "webhook", "--from-file",
               str(credentials)).returncode == 0  # fmt: skip
    with server.client() as client:
        body = {"event": "{{ event.name }}", "code": "{{ execution.exit_code }}"}
        notify = {"tool": "alerts", "action": "send", "params": {"body": body}}
        action = {"when": "failure", "notify": notify}
        event = create_event(client, name="nightly", script="exit 4", actions=[action])
        execution_id = run_event(client, event["id"])

    def sent() -> list[dict[str, object]] | None:
        done = cli(server, "tools", "deliveries", "--execution", str(execution_id), "--json")
        rows = json.loads(done.stdout) if done.returncode == 0 else []
        return rows if rows and rows[0]["status"] == "sent" else None

    (delivery,) = until_sync(sent, 30, "the failing event's notification")
    assert delivery["attempts"] == 2
    assert http.at("/alerts")[-1].json() == {"event": "nightly", "code": "4"}
