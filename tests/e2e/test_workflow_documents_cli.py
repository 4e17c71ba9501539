"""``cronium workflows import [--dry-run]``, ``export`` and ``delete`` against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import RunningServer, cli, default_server

DOCUMENT = """\
cronium: 1
workflow:
  name: {name}
  nodes:
    - {{name: fetch, event: {name}-fetch}}
    - {{name: load, event: {name}-load}}
  edges:
    - {{source: fetch, target: load, kind: on_success}}
events:
  - name: {name}-fetch
    language: python
    script: |
      import cronium
      cronium.output(41)
  - name: {name}-load
    language: bash
    script: echo loaded
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on its defaults: SQLite and the native sandbox."""
    yield from default_server(tmp_path_factory.mktemp("data"))


def document(tmp_path: Path, name: str, text: str | None = None) -> Path:
    """A document file of workflow ``name`` (DOCUMENT, or ``text``)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(DOCUMENT.format(name=name) if text is None else text)
    return path


def table_rows(output: str) -> list[list[str]]:
    """The cells of each row (the header left out) of a table the CLI printed."""
    return [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def succeeded(server: RunningServer, *args: str) -> str:
    """The output of ``cronium ARGS``, which must succeed."""
    done = cli(server, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_dry_run_shows_the_import_and_writes_nothing(
    server: RunningServer, tmp_path: Path
) -> None:
    path = document(tmp_path, "dry")
    shown = succeeded(server, "workflows", "import", str(path), "--dry-run")
    assert table_rows(shown) == [
        ["created", "script", "dry-fetch", "", "1"],
        ["created", "script", "dry-load", "", "1"],
        ["created", "workflow", "dry", "", "1"],
    ]
    assert "Dry run, nothing written: the import would create 3." in shown
    names = [event["name"] for event in json.loads(succeeded(server, "events", "list", "--json"))]
    assert not [name for name in names if name.startswith("dry")]


def test_an_import_reports_what_it_created_changed_and_left_alone(
    server: RunningServer, tmp_path: Path
) -> None:
    path = document(tmp_path, "report")
    first = succeeded(server, "workflows", "import", str(path))
    assert [row[0] for row in table_rows(first)] == ["created"] * 3
    assert "): created 3." in first

    workflow_id = table_rows(first)[-1][3]
    exported = tmp_path / "exported.yaml"
    succeeded(server, "workflows", "export", workflow_id, "-o", str(exported))
    again = succeeded(server, "workflows", "import", str(exported))
    assert [row[0] for row in table_rows(again)] == ["unchanged"] * 3
    assert f"Nothing to change: workflow {workflow_id} (report) and its events match" in again

    exported.write_text(exported.read_text().replace("cronium.output(41)", "cronium.output(42)"))
    preview = succeeded(server, "workflows", "import", str(exported), "--dry-run")
    assert "the import would change 1 and leave 2 unchanged." in preview
    changed = succeeded(server, "workflows", "import", str(exported))
    outcome, kind, name, _, versions = table_rows(changed)[0]
    assert (outcome, kind, name, versions) == ("changed", "script", "report-fetch", "1 -> 2")
    assert f"Imported workflow {workflow_id} (report): changed 1 and left 2 unchanged." in changed

    answer = json.loads(succeeded(server, "workflows", "import", str(exported), "--json"))
    assert answer["id"] == int(workflow_id)
    assert [item["outcome"] for item in answer["report"]["events"]] == ["unchanged"] * 2


def test_a_bad_document_is_refused_naming_every_problem(
    server: RunningServer, tmp_path: Path
) -> None:
    cyclic = DOCUMENT.format(name="cyclic").replace(
        "    - {source: fetch, target: load, kind: on_success}\n",
        "    - {source: fetch, target: load}\n    - {source: load, target: fetch}\n"
        "    - {source: load, target: nowhere}\n",
    )
    refused = cli(server, "workflows", "import", str(document(tmp_path, "cyclic", cyclic)))
    assert refused.returncode == 2
    assert "no node is named 'nowhere'" in refused.stderr
    assert "it has a cycle: fetch -> load -> fetch" in refused.stderr


def test_a_workflow_is_deleted_with_a_clear_answer(server: RunningServer, tmp_path: Path) -> None:
    imported = succeeded(server, "workflows", "import", str(document(tmp_path, "gone")))
    workflow_id = table_rows(imported)[-1][3]
    deleted = succeeded(server, "workflows", "delete", workflow_id)
    assert (
        f"Deleted workflow {workflow_id} (gone) with its runs; the 2 event(s) its nodes ran are "
        "kept." in deleted
    )
    workflows = json.loads(succeeded(server, "workflows", "list", "--json"))
    assert workflow_id not in [str(workflow["id"]) for workflow in workflows]
    again = cli(server, "workflows", "delete", workflow_id)
    assert again.returncode == 2
    assert f"no workflow has id {workflow_id}" in again.stderr
