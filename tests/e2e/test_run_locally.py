"""`cronium run` gives scripts the runtime API on the spot, as a server's worker does: input,
output, variables (in a file, or for the run only), condition and context in every language;
and `cronium run --event` runs a server's event here, as saved or with a changed script.

Real native sandboxes and a real server; nothing is mocked."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from tests.backends import missing
from tests.e2e.server import (
    RunningServer,
    cli,
    create_event,
    default_server,
    run_event,
    wait_for_end,
)

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(scope="module", autouse=True)
def native() -> None:
    """Every test here runs scripts in the native sandbox."""
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")


def cronium(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``cronium ARGS`` as a user types it, with none of this environment's CRONIUM_* (and
    messages not wrapped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")} | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The lines `cronium run` prints on stderr after the run, by their name."""
    lines = done.stderr.splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("-- end of the run: ")]
    assert starts, f"no summary after the run:\n{done.stderr}"
    found = {"end": lines[starts[-1]].removeprefix("-- end of the run: ")}
    for line in lines[starts[-1] + 1 :]:
        name, _, value = line.partition(": ")
        found[name] = value
    return found


def output_of(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(summary(done)["output"])


def test_the_readmes_first_script_runs_as_the_readme_says(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    script = re.search(r"```python\n(.*?)```", text, re.S)
    shown = re.search(r"\.venv/bin/cronium (run hello\.py .*)\n((?:# .*\n)*)", text)
    assert script is not None, "the README shows hello.py"
    assert shown is not None, "the README shows how to run hello.py"
    (tmp_path / "hello.py").write_text(script.group(1))

    done = cronium(*shlex.split(shown.group(1)), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert output_of(done) == {"n": 2}
    said = done.stderr.splitlines()
    promised = [line.removeprefix("# ") for line in shown.group(2).splitlines()]
    assert said[0].split(" (")[0] == promised[0].split(" (")[0]  # the timings vary
    assert said[1:] == promised[1:]
    assert json.loads((tmp_path / "vars.json").read_text()) == {"last": 1}


def test_variables_are_kept_in_the_named_file_from_one_run_to_the_next(tmp_path: Path) -> None:
    script = tmp_path / "count.py"
    script.write_text(
        "import cronium\n"
        "n = cronium.get_variable('count', 0) + 1\n"
        "cronium.set_variable('count', n)\n"
        "cronium.delete_variable('scratch')\n"
        "cronium.output(cronium.list_variables())\n"
    )
    kept = tmp_path / "state" / "vars.json"
    kept.parent.mkdir()
    kept.write_text('{"scratch": true, "name": "x"}')

    first = cronium("run", str(script), "--variables", str(kept))
    second = cronium("run", str(script), "--variables", str(kept))

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert output_of(first) == {"count": 1, "name": "x"}
    assert output_of(second) == {"count": 2, "name": "x"}
    assert json.loads(kept.read_text()) == {"count": 2, "name": "x"}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert summary(second)["variables"] == f"2 saved in {kept}"
    assert sorted(p.name for p in kept.parent.iterdir()) == ["vars.json"]  # no temporary left


def test_a_missing_variables_file_is_made_and_without_one_variables_last_one_run(
    tmp_path: Path,
) -> None:
    script = tmp_path / "once.sh"
    script.write_text(
        'cronium_output "$(cronium_get_variable seen || echo 0)"\ncronium_set_variable seen 1\n'
    )
    made = tmp_path / "new.json"

    assert output_of(cronium("run", str(script), "--variables", str(made))) == 0
    assert json.loads(made.read_text()) == {"seen": 1}
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    for _ in range(2):
        alone = cronium("run", str(script))
        assert alone.returncode == 0, alone.stderr
        assert output_of(alone) == 0
        assert "variables" not in summary(alone)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[1, 2]", "must hold a JSON object of variables"),
        ("{oops", "is not valid JSON"),
        ('{"no spaces": 1}', "'no spaces' is not a valid variable key"),
    ],
)
def test_a_bad_variables_file_is_refused_before_the_run(
    tmp_path: Path, content: str, reason: str
) -> None:
    script = tmp_path / "job.sh"
    script.write_text("echo ran\n")
    kept = tmp_path / "vars.json"
    kept.write_text(content)

    done = cronium("run", str(script), "--variables", str(kept))

    assert done.returncode == 2
    assert reason in done.stderr
    assert done.stdout == ""
    assert kept.read_text() == content


# the helpers of every language, the condition and the context

SCRIPTS = {
    "py": (
        "import cronium\n"
        "n = cronium.get_variable('n', 0) + cronium.input()['add']\n"
        "cronium.set_variable('n', n)\n"
        "cronium.set_condition(n > 1)\n"
        "condition = cronium.get_condition()\n"
        "cronium.output({'n': n, 'condition': condition, 'context': cronium.event()})\n"
    ),
    "js": (
        "const cronium = require('cronium');\n"
        "(async () => {\n"
        "  const n = (await cronium.getVariable('n', 0)) + (await cronium.input()).add;\n"
        "  await cronium.setVariable('n', n);\n"
        "  await cronium.setCondition(n > 1);\n"
        "  const condition = await cronium.getCondition();\n"
        "  await cronium.output({n, condition, context: await cronium.event()});\n"
        "})();\n"
    ),
    "sh": (
        "n=$(( $(cronium_get_variable n || echo 0) + $(cronium_input | jq .add) ))\n"
        "cronium_set_variable n $n\n"
        "if (( n > 1 )); then cronium_set_condition true; else cronium_set_condition false; fi\n"
        'jq -cn --argjson n $n --argjson c "$(cronium_get_condition)" '
        "--argjson e \"$(cronium_event)\" '{n: $n, condition: $c, context: $e}' | cronium_output\n"
    ),
}
LANGUAGES = {"py": "python", "js": "node", "sh": "bash"}


@pytest.mark.parametrize("extension", SCRIPTS)
def test_every_languages_helpers_work_here(tmp_path: Path, extension: str) -> None:
    script = tmp_path / f"step.{extension}"
    script.write_text(SCRIPTS[extension])
    kept = tmp_path / "vars.json"
    runs = [
        cronium("run", str(script), "--input", '{"add": 1}', "--variables", str(kept))
        for _ in range(2)
    ]

    for done in runs:
        assert done.returncode == 0, done.stderr
    first, second = (output_of(done) for done in runs)
    assert (first["n"], first["condition"]) == (1, False)
    assert (second["n"], second["condition"]) == (2, True)
    assert [summary(done)["condition"] for done in runs] == ["false", "true"]
    context = first["context"]
    assert {key: context[key] for key in list(context)[:8]} == {
        "execution_id": context["execution_id"],
        "event_id": context["event_id"],
        "event_name": "step",
        "language": LANGUAGES[extension],
        "attempt": 1,
        "trigger": "manual",
        "scheduled_at": None,
        "owner_id": context["owner_id"],
    }
    # and the same under the names of Cronium's documentation
    assert (context["id"], context["name"]) == (str(context["event_id"]), "step")
    assert json.loads(kept.read_text()) == {"n": 2}


def test_the_last_output_wins_and_a_failing_script_still_hands_it_over(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text(
        "import cronium, sys\n"
        "cronium.output('first')\n"
        "cronium.output({'rows': [1, 2], 'text': 'é'})\n"
        "print('visible')\n"
        "sys.exit(3)\n"
    )
    done = cronium("run", str(script))
    assert done.returncode == 3
    assert done.stdout == "visible\n"
    assert summary(done)["end"].startswith("exited with code 3 (")
    assert summary(done)["output"] == '{"rows": [1, 2], "text": "é"}'


# how a run ended, in plain words


def test_a_timeout_is_said_in_plain_words(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import cronium, time\ncronium.output('partial')\ntime.sleep(30)\n")
    done = cronium("run", str(script), "--timeout", "1")
    assert done.returncode == 124
    assert summary(done)["end"].startswith("timed out after 1 s (")
    assert output_of(done) == "partial"


def test_running_out_of_memory_is_said_in_plain_words(tmp_path: Path) -> None:
    script = tmp_path / "hog.py"
    script.write_text("x = bytearray(400 * 1024 * 1024)\n")
    done = cronium("run", str(script), "--memory", "64")
    assert done.returncode == 137
    assert summary(done)["end"].startswith("killed: out of memory (limit 64 MiB) (")


def test_a_script_killed_by_a_signal_says_which(tmp_path: Path) -> None:
    script = tmp_path / "killed.sh"
    script.write_text("kill -KILL $$\n")
    done = cronium("run", str(script))
    assert done.returncode == 137
    assert "as when killed by signal 9 (SIGKILL)" in summary(done)["end"]


def test_a_run_needs_a_file_or_an_event() -> None:
    done = cronium("run")
    assert done.returncode == 2
    assert "give the script FILE to run, or --event ID_OR_NAME" in done.stderr


# a server's event, run here


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on its defaults: SQLite and the native sandbox."""
    yield from default_server(tmp_path_factory.mktemp("data"))


STORED = (
    "import cronium, os\n"
    "seen = cronium.get_variable('where', 'nowhere')\n"
    "cronium.set_variable('where', 'server')\n"
    "cronium.output({'script': 'stored', 'who': os.environ.get('WHO'), 'seen': seen,"
    " 'input': cronium.input(), 'context': cronium.event()})\n"
)


def test_an_event_of_a_server_runs_here_with_its_script_and_settings(
    server: RunningServer, tmp_path: Path
) -> None:
    with server.client() as client:
        event = create_event(
            client, name="stored-py", language="python", script=STORED, env={"WHO": "world"}
        )
        on_server = wait_for_end(client, run_event(client, event["id"]))
    assert on_server["status"] == "succeeded", on_server

    for id_or_name in (str(event["id"]), "stored-py"):
        done = cli(server, "run", "--event", id_or_name, "--input", '{"n": 1}')
        assert done.returncode == 0, done.stderr
        output = output_of(done)
        assert {k: output[k] for k in ("script", "who", "input")} == {
            "script": "stored",
            "who": "world",
            "input": {"n": 1},
        }
        assert output["seen"] == "nowhere", "the server's variables are not used here"
        assert output["context"]["event_id"] == event["id"]
        assert output["context"]["event_name"] == "stored-py"

    with server.client() as client:
        executions = client.get("/api/v1/executions", params={"event_id": event["id"]}).json()
    assert len(executions) == 1, "running an event here queues nothing on the server"


def test_a_changed_script_is_tried_with_the_events_settings_before_saving_it(
    server: RunningServer, tmp_path: Path
) -> None:
    with server.client() as client:
        event = create_event(client, script="echo saved", env={"WHO": "world"}, timeout_seconds=1)
    changed = tmp_path / "changed.sh"
    changed.write_text('echo "changed $WHO"\ncronium_output \'"new"\'\nsleep 30\n')

    done = cli(server, "run", str(changed), "--event", event["name"])

    assert done.returncode == 124
    assert done.stdout == "changed world\n"
    assert summary(done)["end"].startswith("timed out after 1 s (")
    assert output_of(done) == "new"
    longer = cli(server, "run", str(changed), "--event", str(event["id"]), "--timeout", "2")
    assert summary(longer)["end"].startswith("timed out after 2 s (")
    with server.client() as client:
        assert client.get(f"/api/v1/events/{event['id']}").json()["script"] == "echo saved"


def test_an_event_that_is_not_there_or_not_a_script_is_refused(server: RunningServer) -> None:
    with server.client() as client:
        made = client.post(
            "/api/v1/events",
            json={"name": "a-request", "http": {"method": "GET", "url": "https://example.com/"}},
        )
    assert made.status_code == 201, made.text
    unknown = cli(server, "run", "--event", "no-such-event")
    assert unknown.returncode == 2
    assert "is named 'no-such-event': `cronium events list` shows them" in unknown.stderr
    http = cli(server, "run", "--event", str(made.json()["id"]))
    assert http.returncode == 2
    assert "is of kind http: cronium run runs script events only" in http.stderr
