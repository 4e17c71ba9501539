"""Any event setting from the command line (--set), and events found by tag."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import RunningServer, cli, default_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on its defaults: SQLite and the native sandbox."""
    yield from default_server(tmp_path_factory.mktemp("data"))


def test_the_cli_sets_description_and_tags_and_lists_by_tag(
    server: RunningServer, tmp_path: Path
) -> None:
    script = tmp_path / "backup.sh"
    script.write_text("echo saved\n")
    created = cli(
        server,
        "events",
        "create",
        str(script),
        "--set",
        "description=Nightly copy",
        "--set",
        "tags=db,nightly",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    event = json.loads(created.stdout)
    assert (event["description"], event["tags"]) == ("Nightly copy", ["db", "nightly"])
    other = tmp_path / "other.sh"
    other.write_text("true\n")
    assert cli(server, "events", "create", str(other)).returncode == 0

    listed = cli(server, "events", "list", "--tag", "nightly", "--json")
    assert [e["name"] for e in json.loads(listed.stdout)] == ["backup"]
    table = cli(server, "events", "list", "--tag", "db")
    assert "db, nightly" in table.stdout
    assert "other" not in table.stdout

    updated = cli(server, "events", "update", str(event["id"]), "--set", 'tags=["weekly"]')
    assert updated.returncode == 0, updated.stderr
    assert "version 2" in updated.stdout
    shown = cli(server, "events", "show", str(event["id"]))
    assert 'tags: ["weekly"]' in shown.stdout
    assert "description: Nightly copy" in shown.stdout


def test_the_cli_names_a_setting_that_does_not_exist(server: RunningServer, tmp_path: Path) -> None:
    script = tmp_path / "x.sh"
    script.write_text("true\n")
    wrong = cli(server, "events", "create", str(script), "--set", "colour=red")
    assert wrong.returncode != 0
    assert "colour: events have no such setting" in wrong.stderr
    assert "description" in wrong.stderr
    nothing = cli(server, "events", "update", "1")
    assert nothing.returncode != 0
    assert "nothing to change" in nothing.stderr
