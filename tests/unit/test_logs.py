"""The log's pieces (logs.py): its setup, text or JSON, and the lines of runs that change
state."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn

from cronium.domain.event import Event
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.logs import (
    JsonFormatter,
    configure_logging,
    fields,
    iso_time,
    run_changed,
    run_started,
)
from tests.factories import script_event

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The root logger and uvicorn's as they were before the test."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "aiosqlite")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def record(text: str = "hello", **values: Any) -> logging.LogRecord:
    made = logging.LogRecord("cronium.test", logging.INFO, __file__, 1, text, (), None)
    for name, value in fields(**values).items():
        setattr(made, name, value)
    return made


def event(**settings: Any) -> Event:
    declared = script_event(**({"name": "nightly"} | settings))
    values = {f.name: getattr(declared, f.name) for f in dataclasses.fields(declared)}
    return Event(**values, id=3, owner_id=1, created_at=NOW, updated_at=NOW)


def execution(**changes: Any) -> Execution:
    base: dict[str, Any] = {
        "id": 12,
        "event_id": 3,
        "status": ExecutionStatus.RUNNING,
        "attempt": 1,
        "priority": 0,
        "trigger": "manual",
        "scheduled_at": None,
        "pool": None,
        "retry_of": None,
        "event_version": 1,
        "parent_id": None,
        "node": None,
        "lease_expires_at": None,
        "cancel_requested_at": None,
        "due_at": None,
        "start_failures": 0,
        "input": None,
        "output": None,
        "condition": None,
        "worker_id": "host:1",
        "error": None,
        "queued_at": NOW,
        "started_at": NOW,
        "finished_at": None,
        "setup_seconds": None,
        "run_seconds": None,
        "cleanup_seconds": None,
        "exit_code": None,
        "signal": None,
        "timed_out": False,
        "oom_killed": False,
        "peak_memory_bytes": None,
        "cpu_seconds": None,
    }
    return Execution(**(base | changes))


def ended(status: ExecutionStatus, seconds: float = 1.5, **changes: Any) -> Execution:
    return execution(status=status, finished_at=NOW + timedelta(seconds=seconds), **changes)


# JSON


def test_a_json_line_holds_time_level_logger_message_and_the_fields() -> None:
    line = json.loads(JsonFormatter().format(record("GET / 200", status=200, duration_ms=1.5)))
    assert line.pop("time").endswith("Z")
    assert line == {
        "level": "info",
        "logger": "cronium.test",
        "message": "GET / 200",
        "status": 200,
        "duration_ms": 1.5,
    }


def test_a_field_never_replaces_what_every_line_has() -> None:
    line = json.loads(JsonFormatter().format(record("mine", message="theirs", level="x")))
    assert (line["message"], line["level"]) == ("mine", "info")


def test_a_json_line_carries_the_traceback_of_an_exception() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        made = logging.LogRecord("t", logging.ERROR, __file__, 1, "oops", (), sys.exc_info())
    line = json.loads(JsonFormatter().format(made))
    assert "ValueError: broken" in line["exception"]


def test_a_json_line_is_one_line_whatever_the_message() -> None:
    text = JsonFormatter().format(record("two\nlines", name="a\nb"))
    assert "\n" not in text
    assert json.loads(text)["message"] == "two\nlines"


def test_times_are_utc_to_the_millisecond() -> None:
    assert iso_time(0.25) == "1970-01-01T00:00:00.250Z"


# setup


@pytest.mark.usefixtures("restored_logging")
def test_the_setup_writes_text_at_the_level_and_keeps_the_drivers_at_warning() -> None:
    stream = io.StringIO()
    configure_logging("debug", "text", stream)
    logging.getLogger("cronium.test").debug("seen")
    logging.getLogger("aiosqlite").debug("a statement's parameters")
    assert "DEBUG cronium.test: seen" in stream.getvalue()
    assert "parameters" not in stream.getvalue()


@pytest.mark.usefixtures("restored_logging")
def test_the_setup_writes_json_lines() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    logging.getLogger("cronium.test").info("hi", extra=fields(n=1))
    logging.getLogger("cronium.test").debug("not at info")
    (line,) = stream.getvalue().splitlines()
    assert json.loads(line)["n"] == 1


@pytest.mark.usefixtures("restored_logging")
def test_uvicorn_writes_no_access_line_and_its_servers_reset_nothing() -> None:
    stream = io.StringIO()
    configure_logging("info", "text", stream)
    # what each of the process's uvicorn servers does with its config
    uvicorn.Config(lambda: None, log_config=None, log_level=None, access_log=False)
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    logging.getLogger("uvicorn.error").warning("a warning of uvicorn's")
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("cronium.test").info("still here")
    written = stream.getvalue()
    assert "a warning of uvicorn's" in written
    assert "Started server process" not in written
    assert "still here" in written


# runs


def test_a_run_that_starts_says_its_event_and_attempt() -> None:
    line = run_started(execution(), event())
    assert line.level == logging.INFO
    assert line.message == "execution 12 started: event 3 'nightly', attempt 1"
    assert line.values == {
        "execution_id": 12,
        "event_id": 3,
        "event": "nightly",
        "status": "running",
        "attempt": 1,
        "max_attempts": 1,
    }


def test_a_retry_that_starts_says_what_it_retries() -> None:
    line = run_started(execution(id=13, attempt=2, retry_of=12), event(max_attempts=3))
    assert line.message == (
        "execution 13 started: event 3 'nightly', attempt 2 of 3, retry of execution 12"
    )
    assert line.values["retry_of"] == 12


def test_a_run_that_ends_says_its_status_and_duration() -> None:
    line = run_changed(ended(ExecutionStatus.SUCCEEDED, exit_code=0), event())
    assert line is not None
    assert line.message == (
        "execution 12 succeeded (exit code 0) in 1.50 s: event 3 'nightly', attempt 1"
    )
    assert line.values | {"duration_ms": 1500.0, "exit_code": 0, "retried": False} == line.values


def test_a_failure_with_attempts_left_says_it_will_be_retried() -> None:
    line = run_changed(ended(ExecutionStatus.FAILED, 0.25, exit_code=3), event(max_attempts=2))
    assert line is not None
    assert line.message.endswith("attempt 1 of 2; it will be retried")
    assert line.values["retried"] is True
    last = run_changed(ended(ExecutionStatus.FAILED, attempt=2), event(max_attempts=2))
    assert last is not None
    assert last.values["retried"] is False


def test_a_run_given_back_says_so_and_why() -> None:
    given_back = execution(
        status=ExecutionStatus.QUEUED,
        started_at=None,
        start_failures=1,
        error="not started on worker host:1: no image",
    )
    line = run_changed(given_back, event())
    assert line is not None
    assert line.level == logging.WARNING
    assert line.message == (
        "execution 12 given back to the queue, its sandbox could not be set up (start failure 1):"
        " event 3 'nightly', attempt 1; not started on worker host:1: no image"
    )
    assert line.values["start_failures"] == 1


def test_a_run_the_worker_lost_gets_no_line_of_its_end() -> None:
    assert run_changed(execution(), event()) is None


def test_a_node_of_a_workflow_run_says_which() -> None:
    line = run_started(execution(parent_id=7, node="build"), event())
    assert line.message.endswith("node 'build' of workflow run 7")
    assert (line.values["workflow_run"], line.values["node"]) == (7, "build")


def test_an_event_name_cannot_break_the_line() -> None:
    line = run_started(execution(), event(name="two\nlines"))
    assert "\n" not in line.message
