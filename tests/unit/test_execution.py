"""Executions (domain/execution.py): the state machine, how a run ends, and retries."""

import itertools

import pytest

from cronium.domain.execution import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    ExecutionStatus,
    can_transition,
    check_transition,
    retry_delay,
    should_retry,
    start_retry_delay,
    status_of_run,
)
from cronium.errors import InvalidTransitionError

S = ExecutionStatus
ALLOWED = {
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.CANCELLED),
    (S.RUNNING, S.QUEUED),  # given back by its worker before the script started
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.TIMED_OUT),
    (S.RUNNING, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(S, S))


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_it_allows_each_transition_of_the_state_machine(current: S, target: S) -> None:
    assert can_transition(current, target)
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [pair for pair in ALL_PAIRS if pair not in ALLOWED])
def test_it_refuses_every_other_transition_with_a_message(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(InvalidTransitionError, match=f"{current} cannot become {target}"):
        check_transition(current, target)


def test_the_table_is_exactly_the_documented_machine() -> None:
    table = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


def test_terminal_states_are_the_endings() -> None:
    assert {S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.CANCELLED, S.SKIPPED} == TERMINAL_STATUSES
    assert not S.QUEUED.is_terminal
    assert not S.RUNNING.is_terminal


def test_a_refused_transition_from_an_ended_state_says_it_has_ended() -> None:
    with pytest.raises(InvalidTransitionError, match="nothing \\(it has ended\\)"):
        check_transition(S.SUCCEEDED, S.RUNNING)


@pytest.mark.parametrize(
    ("exit_code", "timed_out", "cancelled", "expected"),
    [
        (0, False, False, S.SUCCEEDED),
        (1, False, False, S.FAILED),
        (42, False, False, S.FAILED),
        (None, False, False, S.FAILED),
        (None, True, False, S.TIMED_OUT),
        (0, True, False, S.TIMED_OUT),
        (None, True, True, S.CANCELLED),
        (None, False, True, S.CANCELLED),
    ],
)
def test_status_of_run_maps_each_ending(
    exit_code: int | None, timed_out: bool, cancelled: bool, expected: S
) -> None:
    assert status_of_run(exit_code=exit_code, timed_out=timed_out, cancelled=cancelled) is expected


def test_failures_and_timeouts_are_retried_while_attempts_remain_cancellations_never() -> None:
    assert should_retry(S.FAILED, 1, 3)
    assert should_retry(S.TIMED_OUT, 2, 3)
    assert not should_retry(S.FAILED, 3, 3)
    assert not should_retry(S.CANCELLED, 1, 3)
    assert not should_retry(S.SUCCEEDED, 1, 3)


def test_retry_delays_grow_exponentially_with_jitter_and_a_cap() -> None:
    delays = [
        retry_delay(a, base=10, cap=60, jitter=0.999999).total_seconds() for a in (1, 2, 3, 4, 5)
    ]
    assert [round(d) for d in delays] == [10, 20, 40, 60, 60]
    assert retry_delay(1, base=10, cap=60, jitter=0.0).total_seconds() == 5.0  # half at least


def test_a_run_that_could_not_start_waits_longer_each_time_up_to_a_minute() -> None:
    waits = [start_retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10)]
    assert waits == [1, 2, 4, 8, 60]
