"""The worker's pure pieces (worker.py): what a sandbox's result records."""

from datetime import UTC, datetime

from cronium.domain.execution import ExecutionStatus
from cronium.sandbox.spec import SandboxResult
from cronium.worker import record_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_run_killed_by_a_signal_fails_and_says_which() -> None:
    record = record_of(SandboxResult(exit_code=None, signal=9), NOW, timeout=5)
    assert record.status is ExecutionStatus.FAILED
    assert record.error == "killed by signal 9"


def test_a_timed_out_run_says_after_how_long() -> None:
    record = record_of(SandboxResult(exit_code=None, timed_out=True), NOW, timeout=2.5)
    assert record.status is ExecutionStatus.TIMED_OUT
    assert record.error == "timed out after 2.5 s"
