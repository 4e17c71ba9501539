"""The worker's pure pieces (worker.py): what a run's result records, with or without a
process (an HTTP request has none)."""

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


# runs with no process (an HTTP request)


def answered(**fields: object) -> SandboxResult:
    base: dict[str, object] = {
        "exit_code": None,
        "setup_seconds": None,
        "cleanup_seconds": None,
        "run_seconds": 0.5,
    }
    return SandboxResult(**(base | fields))  # type: ignore[arg-type]


def test_a_run_without_an_exit_code_that_succeeded_keeps_its_output() -> None:
    record = record_of(answered(succeeded=True, output={"status": 200}), NOW, timeout=5)
    assert (record.status, record.error, record.output) == (
        ExecutionStatus.SUCCEEDED,
        None,
        {"status": 200},
    )
    assert (record.exit_code, record.setup_seconds, record.cleanup_seconds) == (None, None, None)
    assert record.run_seconds == 0.5


def test_a_run_without_an_exit_code_fails_with_its_own_reason() -> None:
    result = answered(succeeded=False, error="the server answered 503 Service Unavailable")
    record = record_of(result, NOW, timeout=5)
    assert record.status is ExecutionStatus.FAILED
    assert record.error == "the server answered 503 Service Unavailable"


def test_a_timed_out_or_cancelled_run_says_so_whatever_ran_it() -> None:
    timed_out = record_of(answered(succeeded=False, timed_out=True), NOW, timeout=1)
    assert (timed_out.status, timed_out.error, timed_out.timed_out) == (
        ExecutionStatus.TIMED_OUT,
        "timed out after 1 s",
        True,
    )
    cancelled = record_of(answered(succeeded=False, cancelled=True), NOW, timeout=1)
    assert (cancelled.status, cancelled.error) == (ExecutionStatus.CANCELLED, "cancelled")


def test_a_script_that_exits_non_zero_fails_without_a_reason() -> None:
    record = record_of(SandboxResult(exit_code=3), NOW, timeout=5)
    assert (record.status, record.exit_code, record.error) == (ExecutionStatus.FAILED, 3, None)


def test_a_run_killed_for_memory_says_so_not_just_its_signal() -> None:
    result = SandboxResult(exit_code=None, signal=9, oom_killed=True)
    record = record_of(result, NOW, timeout=5)
    assert record.status is ExecutionStatus.FAILED
    assert record.error == "killed: it ran out of memory (raise its memory_mb limit)"
