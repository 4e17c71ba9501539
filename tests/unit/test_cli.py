"""The command line (cli.py): what `cronium run` exits with."""

import pytest

from cronium.cli.run import exit_status
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
