"""The command line: what `cronium run` exits with, what it says after the run, and the
settings it runs a script with (the file's, a server's event's, the options')."""

from pathlib import Path

import pytest

from cronium.cli.run import Given, ending_of, event_settings, exit_status, summary_of
from cronium.client import ClientError
from cronium.domain.event import Language, ResourceLimits
from cronium.localrun import Ran
from cronium.sandbox.spec import SandboxResult


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (SandboxResult(exit_code=0), 0),
        (SandboxResult(exit_code=42), 42),
        (SandboxResult(exit_code=None, timed_out=True), 124),
        (SandboxResult(exit_code=None, signal=9, oom_killed=True), 137),
        (SandboxResult(exit_code=None, cancelled=True), 130),
        (SandboxResult(exit_code=None, signal=15), 143),
    ],
)
def test_cronium_run_exits_with_a_status_that_says_how_the_script_ended(
    result: SandboxResult, status: int
) -> None:
    assert exit_status(result) == status


LIMITS = ResourceLimits(timeout_seconds=5, memory_mb=64)


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (SandboxResult(exit_code=0), "exited with code 0"),
        (SandboxResult(exit_code=3), "exited with code 3"),
        (SandboxResult(exit_code=None, timed_out=True, signal=9), "timed out after 5 s"),
        (
            SandboxResult(exit_code=None, signal=9, oom_killed=True),
            "killed: out of memory (limit 64 MiB)",
        ),
        (SandboxResult(exit_code=None, signal=9), "killed by signal 9 (SIGKILL)"),
        (SandboxResult(exit_code=None, cancelled=True), "interrupted"),
        (
            SandboxResult(exit_code=143),
            "exited with code 143, as when killed by signal 15 (SIGTERM)",
        ),
        (SandboxResult(exit_code=200), "exited with code 200"),
    ],
)
def test_cronium_run_says_how_the_script_ended_in_plain_words(
    result: SandboxResult, words: str
) -> None:
    assert ending_of(result, LIMITS) == words


def test_after_the_run_come_its_end_output_condition_and_variables() -> None:
    result = SandboxResult(
        exit_code=0, run_seconds=0.25, peak_memory_bytes=3 * 1024 * 1024, cpu_seconds=0.1
    )
    ran = Ran(result=result, output={"n": 2, "é": [1]}, condition=True, variables={"a": 1})
    assert summary_of(ran, LIMITS, Path("vars.json")) == [
        "-- end of the run: exited with code 0 (0.25 s, peak memory 3.0 MiB, CPU 0.10 s)",
        'output: {"n": 2, "é": [1]}',
        "condition: true",
        "variables: 1 saved in vars.json",
    ]
    alone = Ran(result=SandboxResult(exit_code=1), output=None, condition=None, variables={})
    assert summary_of(alone, LIMITS, None)[1:] == ["output: null", "condition: null"]


STORED = {
    "id": 7,
    "name": "nightly",
    "kind": "script",
    "language": "bash",
    "script": "echo stored",
    "env": {"WHO": "world", "KEEP": "1"},
    "timeout_seconds": 60.0,
    "cpus": 1.0,
    "memory_mb": 128,
    "pids": 50,
    "network": "egress",
    "max_attempts": 3,
}


def test_a_servers_event_gives_its_script_and_settings_and_the_options_given_win() -> None:
    settings = event_settings(None, STORED, Given(memory=256, env={"WHO": "you"}))
    assert (settings.name, settings.language, settings.script) == (
        "nightly",
        Language.BASH,
        "echo stored",
    )
    assert settings.env == {"WHO": "you", "KEEP": "1"}
    assert settings.limits == ResourceLimits(timeout_seconds=60, cpus=1, memory_mb=256, pids=50)
    assert settings.network == "egress"


def test_a_file_replaces_the_events_script_and_its_extension_its_language(tmp_path: Path) -> None:
    changed = tmp_path / "try.py"
    changed.write_text("print('changed')\n")
    settings = event_settings(changed, STORED, Given())
    assert (settings.name, settings.language, settings.script) == (
        "nightly",
        Language.PYTHON,
        "print('changed')\n",
    )
    assert settings.limits.timeout_seconds == 60
    no_extension = tmp_path / "try"
    no_extension.write_text("echo changed\n")
    assert event_settings(no_extension, STORED, Given()).language is Language.BASH


def test_a_file_alone_runs_with_the_defaults_of_an_event(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("true\n")
    settings = event_settings(script, None, Given(timeout=10))
    assert (settings.name, settings.language, settings.network) == ("job", Language.BASH, "none")
    assert settings.limits == ResourceLimits(timeout_seconds=10)
    unknown = tmp_path / "job.rb"
    unknown.write_text("puts 1\n")
    with pytest.raises(ClientError, match=r"cannot tell the language of job\.rb"):
        event_settings(unknown, None, Given())
