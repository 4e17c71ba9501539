r"""Execution states and the one place that decides which changes between them are allowed.

::

    queued --> running --> succeeded | failed | timed_out | cancelled
     \   ^        |
      \   +--------+  released: its worker could not set up the sandbox (the script never ran)
       +----> cancelled

    skipped: made so by the scheduler for a fire that did not run (concurrency policy)

A terminal state never changes again. An execution whose worker died is not moved back to
``queued``: it fails with a reason, and a retry is a new execution (a new attempt). Only the
worker that holds a running execution moves it back, and only before its script started: the
same attempt then waits ``start_retry_delay`` and goes to whichever worker takes it, at most
``MAX_START_FAILURES`` times.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cronium.errors import InvalidTransitionError


class ExecutionStatus(enum.StrEnum):
    """Where an execution is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # a scheduled fire that did not run (concurrency policy); made so

    @property
    def is_terminal(self) -> bool:
        """True once the execution has ended and can no longer change."""
        return not ALLOWED_TRANSITIONS[self]


ALLOWED_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.QUEUED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
    ExecutionStatus.RUNNING: frozenset(
        {
            ExecutionStatus.QUEUED,  # released before its script started
            ExecutionStatus.SUCCEEDED,
            ExecutionStatus.FAILED,
            ExecutionStatus.TIMED_OUT,
            ExecutionStatus.CANCELLED,
        }
    ),
    ExecutionStatus.SUCCEEDED: frozenset(),
    ExecutionStatus.FAILED: frozenset(),
    ExecutionStatus.TIMED_OUT: frozenset(),
    ExecutionStatus.CANCELLED: frozenset(),
    ExecutionStatus.SKIPPED: frozenset(),
}

TERMINAL_STATUSES = frozenset(s for s in ExecutionStatus if s.is_terminal)


def can_transition(current: ExecutionStatus, target: ExecutionStatus) -> bool:
    """Whether an execution in ``current`` may move to ``target``."""
    return target in ALLOWED_TRANSITIONS[current]


def check_transition(current: ExecutionStatus, target: ExecutionStatus) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current -> target`` is allowed."""
    if not can_transition(current, target):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "nothing (it has ended)"
        raise InvalidTransitionError(
            f"an execution that is {current} cannot become {target}; it can become: {allowed}"
        )


def status_of_run(*, exit_code: int | None, timed_out: bool, cancelled: bool) -> ExecutionStatus:
    """The terminal status a finished sandbox run gives its execution."""
    if cancelled:
        return ExecutionStatus.CANCELLED
    if timed_out:
        return ExecutionStatus.TIMED_OUT
    return ExecutionStatus.SUCCEEDED if exit_code == 0 else ExecutionStatus.FAILED


MAX_START_FAILURES = 3


def start_retry_delay(start_failures: int) -> timedelta:
    """Wait before another worker may try to start a run whose sandbox failed to start
    ``start_failures`` times: 1 s, 2 s, 4 s..., at most a minute."""
    return timedelta(seconds=min(60, 2 ** max(0, start_failures - 1)))


RETRIED_STATUSES = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})


def may_retry(attempt: int, max_attempts: int) -> bool:
    """Whether an execution that failed on attempt ``attempt`` gets another one."""
    return attempt < max_attempts


def should_retry(status: ExecutionStatus, attempt: int, max_attempts: int) -> bool:
    """Failures and timeouts are retried while attempts remain; a cancellation never is."""
    return status in RETRIED_STATUSES and may_retry(attempt, max_attempts)


def retry_delay(attempt: int, base: float, cap: float, jitter: float) -> timedelta:
    """Wait before attempt ``attempt + 1``: base * 2^(attempt-1), capped, times a jitter.

    ``jitter`` is a number in [0, 1) (random in production, fixed in tests); the delay is
    spread over [half, full] of the backoff so that retries of many runs do not come together.
    """
    backoff = min(cap, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=backoff * (0.5 + 0.5 * jitter))


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of an event, as stored."""

    id: int
    event_id: int
    status: ExecutionStatus
    attempt: int
    priority: int
    trigger: str
    scheduled_at: datetime | None
    pool: str | None
    retry_of: int | None
    event_version: int | None  # the version of the event that ran
    parent_id: int | None  # the workflow run this execution is a node of
    node: str | None
    lease_expires_at: datetime | None
    cancel_requested_at: datetime | None
    due_at: datetime | None
    start_failures: int
    input: Any
    output: Any
    condition: bool | None
    worker_id: str | None
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    setup_seconds: float | None
    run_seconds: float | None
    cleanup_seconds: float | None
    exit_code: int | None
    signal: int | None
    timed_out: bool
    oom_killed: bool
    peak_memory_bytes: int | None
    cpu_seconds: float | None
