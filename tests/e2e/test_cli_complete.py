"""The CLI covers what the API does: an event's every setting on update, variables, tokens,
global options, and a way back in for a user with no token left."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import RunningServer, cli, default_server


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[RunningServer]:
    yield from default_server(data_dir)


def _event(server: RunningServer, tmp_path: Path, name: str) -> dict[str, object]:
    script = tmp_path / f"{name}.sh"
    script.write_text("echo one\n")
    created = cli(server, "events", "create", str(script), "--json")
    assert created.returncode == 0, created.stderr
    event: dict[str, object] = json.loads(created.stdout)
    return event


def test_update_takes_every_option_of_create_and_a_new_script(
    server: RunningServer, tmp_path: Path
) -> None:
    event = _event(server, tmp_path, "tuned")
    script = tmp_path / "new.sh"
    script.write_text("echo two\n")
    updated = cli(
        server,
        "events",
        "update",
        str(event["id"]),
        "--script",
        str(script),
        "--timeout",
        "9",
        "--memory-mb",
        "64",
        "--max-attempts",
        "3",
        "--retry-backoff-seconds",
        "2",
        "--tags",
        "a,b",
        "--description",
        "tuned up",
        "--json",
    )
    assert updated.returncode == 0, updated.stderr
    changed = json.loads(updated.stdout)
    assert changed["script"] == "echo two\n"
    assert (changed["timeout_seconds"], changed["memory_mb"]) == (9, 64)
    assert (changed["max_attempts"], changed["retry_backoff_seconds"]) == (3, 2)
    assert (changed["tags"], changed["description"]) == (["a", "b"], "tuned up")
    assert changed["version"] == 2
    created = cli(
        server,
        "events",
        "create",
        str(script),
        "--name",
        "made",
        "--max-attempts",
        "2",
        "--pool",
        "gpu",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    assert (json.loads(created.stdout)["max_attempts"], json.loads(created.stdout)["pool"]) == (
        2,
        "gpu",
    )
    nothing = cli(server, "events", "update", str(event["id"]))
    assert nothing.returncode == 2
    assert "nothing to change" in nothing.stderr


def test_variables_are_listed_read_set_and_deleted_keeping_their_types(
    server: RunningServer,
) -> None:
    for key, value in (("flag", "false"), ("count", "3"), ("config", '{"a": [1, null]}')):
        done = cli(server, "vars", "set", key, value)
        assert done.returncode == 0, done.stderr
    assert cli(server, "vars", "set", "word", "true", "--string").returncode == 0
    assert json.loads(cli(server, "vars", "get", "flag").stdout) is False
    assert json.loads(cli(server, "vars", "get", "word").stdout) == "true"
    listed = json.loads(cli(server, "vars", "list", "--json").stdout)
    values = {found["key"]: found["value"] for found in listed}
    assert values == {"config": {"a": [1, None]}, "count": 3, "flag": False, "word": "true"}
    assert cli(server, "vars", "delete", "count").returncode == 0
    gone = cli(server, "vars", "get", "count")
    assert gone.returncode == 2
    assert "no variable 'count'" in gone.stderr
    bad = cli(server, "vars", "set", "bad key", "1")
    assert bad.returncode == 2
    assert "is not valid" in bad.stderr


def test_edit_opens_the_script_in_the_editor_and_saves_a_change_as_a_version(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _event(server, tmp_path, "edited")
    monkeypatch.setenv("EDITOR", "sed -i s/one/two/")
    edited = cli(server, "events", "edit", str(event["id"]))
    assert edited.returncode == 0, edited.stderr
    assert "version 2" in edited.stdout
    shown = json.loads(cli(server, "events", "show", str(event["id"]), "--json").stdout)
    assert shown["script"] == "echo two\n"
    monkeypatch.setenv("EDITOR", "true")
    unchanged = cli(server, "events", "edit", str(event["id"]))
    assert "unchanged: nothing saved" in unchanged.stdout
    monkeypatch.setenv("EDITOR", "false")
    failed = cli(server, "events", "edit", str(event["id"]))
    assert failed.returncode == 2
    assert "exited with status 1" in failed.stderr


def test_webhooks_are_shown_rotated_and_removed(server: RunningServer, tmp_path: Path) -> None:
    event = _event(server, tmp_path, "hooked")
    event_id = str(event["id"])
    assert "has no webhook" in cli(server, "events", "webhook", "show", event_id).stdout
    first = cli(server, "events", "webhook", "rotate", event_id).stdout.strip()
    second = cli(server, "events", "webhook", "rotate", event_id).stdout.strip()
    assert first.startswith(f"{server.url}/api/v1/hooks/")
    assert first != second
    with server.client() as client:
        assert client.post(first.removeprefix(server.url), json={}).status_code == 404
        assert client.post(second.removeprefix(server.url), json={}).status_code == 202
    assert "has a webhook" in cli(server, "events", "webhook", "show", event_id).stdout
    assert cli(server, "events", "webhook", "remove", event_id).returncode == 0
    with server.client() as client:
        assert client.post(second.removeprefix(server.url), json={}).status_code == 404


def test_actions_are_added_listed_and_removed(server: RunningServer, tmp_path: Path) -> None:
    source = str(_event(server, tmp_path, "source")["id"])
    target = str(_event(server, tmp_path, "target")["id"])
    assert cli(server, "events", "actions", "add", source, "failure", target).returncode == 0
    again = cli(server, "events", "actions", "add", source, "failure", target)
    assert "already" in again.stdout
    listed = json.loads(cli(server, "events", "actions", "list", source, "--json").stdout)
    assert listed == [{"when": "failure", "event_id": int(target)}]
    wrong = cli(server, "events", "actions", "remove", source, "success", target)
    assert wrong.returncode == 2
    assert "does not run" in wrong.stderr
    assert cli(server, "events", "actions", "remove", source, "failure", target).returncode == 0
    assert json.loads(cli(server, "events", "actions", "list", source, "--json").stdout) == []


def test_global_options_go_before_the_command_and_a_url_may_end_in_api_v1(
    server: RunningServer,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cronium",
            "--url",
            f"{server.url}/api/v1/",
            "--token",
            server.token or "",
            "--json",
            "tokens",
            "list",
        ],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [token["name"] for token in json.loads(done.stdout)] == ["initial"]


def test_revoking_the_token_in_use_asks_first_and_an_operator_issues_another(
    server: RunningServer, data_dir: Path
) -> None:
    listed = json.loads(cli(server, "tokens", "list", "--json").stdout)
    in_use = next(token["id"] for token in listed if token["revoked_at"] is None)
    refused = cli(server, "tokens", "revoke", str(in_use))  # no answer on stdin: not revoked
    assert refused.returncode != 0
    assert "signs you out" in refused.stdout
    assert cli(server, "tokens", "list").returncode == 0
    issued = subprocess.run(
        [sys.executable, "-m", "cronium", "users", "token", "admin", "--name", "again"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")},
            "CRONIUM_DATA_DIR": str(data_dir),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert issued.returncode == 0, issued.stderr
    assert cli(server, "tokens", "revoke", str(in_use), "--yes").returncode == 0
    assert cli(server, "tokens", "list").returncode == 2  # signed out
    again = RunningServer(server.process, server.url, issued.stdout.strip())
    names = [token["name"] for token in json.loads(cli(again, "tokens", "list", "--json").stdout)]
    assert "again" in names
