"""The README's walkthrough runs as written, in order, against a real fresh server: its
commands succeed and the ids and outputs it names are the ones a user gets."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import RunningServer, default_server, wait_for_end

README = Path(__file__).parents[2] / "README.md"
DEFAULT_URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from default_server(tmp_path_factory.mktemp("data"))


def walkthrough() -> str:
    """The shell blocks of the README's "Using it", in order, as one script."""
    text = README.read_text()
    section = text[text.index("## Using it") : text.index("## Documentation")]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL))


def as_run_here(script: str, server: RunningServer) -> str:
    """The walkthrough for this server: its URL and token, this checkout's command."""
    command = str(Path(sys.executable).parent / "cronium")
    script = script.replace("export CRONIUM_TOKEN=crn_...", f"export CRONIUM_TOKEN={server.token}")
    return script.replace(DEFAULT_URL, server.url).replace(".venv/bin/cronium", command)


def test_the_walkthrough_runs_as_written(server: RunningServer, tmp_path: Path) -> None:
    script = as_run_here(walkthrough(), server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello world\n" in done.stdout
    assert "Created event 1 (hello)." in done.stdout
    with server.client() as client:
        events = {e["id"]: e["name"] for e in client.get("/api/v1/events").json()}
        assert events == {1: "hello", 2: "fetch-data", 3: "load-data", 4: "nightly", 5: "py"}
        run = client.get("/api/v1/executions/2").json()
        assert (run["event_id"], run["status"]) == (4, "succeeded")
        assert client.get("/api/v1/executions/4").json()["event_id"] == 3
        (loaded,) = [line["line"] for line in client.get("/api/v1/executions/4/logs").json()]
        assert loaded.startswith("loading ")
        assert json.loads(loaded.removeprefix("loading ")) == {"rows": 10}
        rest = wait_for_end(client, 5)
        assert (rest["event_id"], rest["status"]) == (5, "succeeded")
        assert [line["line"] for line in client.get("/api/v1/executions/5/logs").json()] == ["42"]
