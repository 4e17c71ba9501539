"""Users, roles, sharing and the audit log from the command line, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import RunningServer, start_server


@dataclass
class Site:
    server: RunningServer
    data_dir: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Site]:
    running = start_server(tmp_path, {"CRONIUM_SANDBOX": "local-insecure"})
    yield Site(running, tmp_path)
    running.stop()


def cronium(
    site: Site, *args: str, token: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``cronium ARGS`` on the server's database and API, as the holder of ``token``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    env |= {
        "CRONIUM_URL": site.server.url,
        "CRONIUM_TOKEN": token or site.server.token or "",
        "CRONIUM_DATA_DIR": str(site.data_dir),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def token_of(server: Site, name: str) -> str:
    issued = cronium(server, "users", "token", name)
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def test_users_roles_sharing_and_the_audit_log(server: Site) -> None:
    made = cronium(
        server, "users", "create", "ann", "--password-stdin", stdin="four words make a password\n"
    )
    assert made.returncode == 0, made.stderr
    assert "Created the user 'ann'" in made.stdout
    assert cronium(server, "users", "create", "bob", "--role", "viewer").returncode == 0
    assert cronium(server, "users", "create", "carl").returncode == 0
    weak = cronium(server, "users", "create", "weak", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2
    assert "at least 10 characters" in weak.stderr
    unknown = cronium(server, "users", "create", "odd", "--role", "boss")
    assert unknown.returncode == 2
    assert "boss" in unknown.stderr
    listed = json.loads(cronium(server, "users", "list", "--json").stdout)
    assert {u["name"]: u["role"] for u in listed} == {
        "admin": "admin",
        "ann": "user",
        "bob": "viewer",
        "carl": "user",
    }
    assert [u["has_password"] for u in listed if u["name"] == "ann"] == [True]

    # ann logs in from a browser; her password works, a wrong one does not
    with httpx.Client(base_url=server.server.url) as browser:
        login = {"name": "ann", "password": "four words make a password"}
        assert browser.post("/api/v1/auth/login", json=login).status_code == 200
        assert browser.get("/api/v1/users/me").json()["name"] == "ann"
        wrong = {"name": "ann", "password": "not her password"}
        assert browser.post("/api/v1/auth/login", json=wrong).status_code == 401

    ann, bob, carl = (token_of(server, name) for name in ("ann", "bob", "carl"))
    script = server.data_dir / "job.sh"
    script.write_text("echo hi\n")
    created = cronium(server, "events", "create", str(script), "--json", token=ann)
    assert created.returncode == 0, created.stderr
    event_id = str(json.loads(created.stdout)["id"])
    shared = cronium(server, "events", "share", event_id, "bob", "--as", "viewer", token=ann)
    assert shared.returncode == 0, shared.stderr
    shares = json.loads(cronium(server, "events", "shares", event_id, "--json", token=ann).stdout)
    assert shares[0]["user"] == "bob"
    assert shares[0]["role"] == "viewer"

    assert cronium(server, "events", "show", event_id, token=bob).returncode == 0
    run = cronium(server, "events", "run", event_id, token=bob)
    assert run.returncode != 0
    assert "your role is viewer" in run.stderr
    hidden = cronium(server, "events", "show", event_id, token=carl)
    assert hidden.returncode != 0
    assert f"no event has id {event_id}" in hidden.stderr

    assert cronium(server, "users", "disable", "ann").returncode == 0
    locked = cronium(server, "events", "list", token=ann)
    assert locked.returncode != 0
    assert "disabled" in locked.stderr

    audit = json.loads(cronium(server, "audit", "--json").stdout)
    actions = {entry["action"] for entry in audit}
    assert {"user.create", "auth.login", "auth.login_failed", "share.add", "user.disable"} <= (
        actions
    )
    only = json.loads(cronium(server, "audit", "--action", "share.add", "--json").stdout)
    assert [(entry["actor"], entry["target"]) for entry in only] == [("ann", f"event {event_id}")]
    refused = cronium(server, "audit", token=carl)
    assert refused.returncode != 0
    assert "your role is user" in refused.stderr
