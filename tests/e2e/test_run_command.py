"""`cronium run` and `cronium doctor` as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cronium.errors import SandboxUnavailableError
from cronium.sandbox import create_backend
from tests.backends import missing


@pytest.fixture(scope="module", params=["native", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    try:
        create_backend(request.param)
    except SandboxUnavailableError as exc:
        missing(f"the {request.param} sandbox backend is not available here: {exc}")
    return str(request.param)


def cronium(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env={**env, "COLUMNS": "200"},  # errors unwrapped
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_streams_output_and_exits_with_the_scripts_code(backend: str, tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(
        "import json, sys\n"
        "print(json.load(open('/run/cronium/input.json'))['n'] + 1)\n"
        "print('warn', file=sys.stderr)\n"
        "sys.exit(42)\n"
    )
    done = cronium("run", str(script), "--input", '{"n": 41}', "--backend", backend)
    assert done.returncode == 42, done.stderr
    assert done.stdout == "42\n"
    assert "warn" in done.stderr


def test_a_timeout_exits_124(backend: str, tmp_path: Path) -> None:
    script = tmp_path / "slow.sh"
    script.write_text("echo started; sleep 30\n")
    done = cronium("run", str(script), "--timeout", "1", "--backend", backend)
    assert done.returncode == 124
    assert done.stdout == "started\n"
    assert "-- end of the run: timed out after 1 s (" in done.stderr


def test_running_out_of_memory_exits_137(backend: str, tmp_path: Path) -> None:
    script = tmp_path / "hog.py"
    script.write_text("x = bytearray(400 * 1024 * 1024)\n")
    done = cronium("run", str(script), "--memory", "64", "--backend", backend)
    assert done.returncode == 137
    assert "-- end of the run: killed: out of memory (limit 64 MiB) (" in done.stderr


def test_the_runtime_api_is_there_and_the_output_printed_after_the_run(
    backend: str, tmp_path: Path
) -> None:
    script = tmp_path / "hello.py"
    script.write_text(
        "import cronium\n"
        "n = cronium.input()['n']\n"
        "cronium.set_variable('last', n)\n"
        "cronium.set_condition(True)\n"
        "cronium.output({'n': n + 1})\n"
    )
    kept = tmp_path / "vars.json"
    done = cronium(
        "run", str(script), "--input", '{"n": 1}', "--variables", str(kept), "--backend", backend
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("-- end of the run: exited with code 0 (")
    assert lines[1:] == ['output: {"n": 2}', "condition: true", f"variables: 1 saved in {kept}"]
    assert json.loads(kept.read_text()) == {"last": 1}


def test_bad_options_are_refused_with_the_reason(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("true\n")
    too_much = cronium("run", str(script), "--memory", "4096")
    assert too_much.returncode == 2
    assert "less than or equal to 2048" in too_much.stderr
    unknown = tmp_path / "job.rb"
    unknown.write_text("puts 1\n")
    assert "cannot tell the language of job.rb" in cronium("run", str(unknown)).stderr


def test_doctor_says_which_backends_work() -> None:
    done = cronium("doctor")
    for name in ("native", "docker", "local-insecure"):
        assert name in done.stdout
    assert "The server uses native" in done.stdout
