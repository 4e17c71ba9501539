"""Cronium's log: set up once per process, as text or as JSON (one object per line), and the
lines the worker writes when a run changes state.

A line may carry fields besides its message (``log.info(..., extra=fields(status=...))``): the
text format shows only the message, which says what the fields say; the JSON format adds each
field to the line's object. uvicorn's own logging setup is never applied (its servers are
started with ``log_config=None``): a second server configured by it would reset the loggers of
the first.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from cronium.domain.event import Event
from cronium.domain.execution import Execution, ExecutionStatus, should_retry
from cronium.settings import LogFormat

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FIELDS = "cronium_fields"  # the attribute of a record that holds its fields

# Libraries whose debug lines carry the data they handle (aiosqlite logs each call with its
# arguments, SQLAlchemy each statement): never below warning, whatever the level.
QUIET_LOGGERS = ("aiosqlite", "sqlalchemy", "asyncpg", "httpcore", "httpx")
# uvicorn's loggers: what they say of starting and stopping is Cronium's own lines' to say (but
# shown at debug level); requests are logged by Cronium's access log, never by uvicorn's.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
UVICORN_ACCESS = "uvicorn.access"


def fields(**values: Any) -> dict[str, Any]:
    """The ``extra`` of a log call whose line carries ``values`` as fields."""
    return {FIELDS: values}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the line's
    fields, and the exception's traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in getattr(record, FIELDS, {}).items():
            entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def iso_time(created: float) -> str:
    """A record's time as ISO 8601 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    """The formatter of the ``log_format`` setting."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(
    level: str, log_format: LogFormat = "text", stream: IO[str] | None = None
) -> None:
    """The process's logging, once: lines of ``level`` and above to ``stream`` (stderr), in
    ``log_format``; the data-carrying libraries at warning, uvicorn's loggers handed to the
    root's handler (its access logger silenced)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    _tame_uvicorn(root.level)


def _tame_uvicorn(level: int) -> None:
    """uvicorn's loggers propagate to the root and say only warnings and errors (everything at
    debug level); its access logger has no handler, so uvicorn writes no access line."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))
    access = logging.getLogger(UVICORN_ACCESS)
    access.handlers.clear()
    access.propagate = False


# what the worker says of runs


@dataclass(frozen=True, slots=True)
class Line:
    """A log line to write: its level, its message and its fields."""

    level: int
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def write(self, logger: logging.Logger) -> None:
        """Write the line to ``logger``."""
        logger.log(self.level, "%s", self.message, extra=fields(**self.values))


def run_started(execution: Execution, event: Event) -> Line:
    """The line of a run that starts on this worker."""
    values = _run_fields(execution, event, ExecutionStatus.RUNNING)
    return Line(
        logging.INFO, f"execution {execution.id} started: {_of_run(execution, event)}", values
    )


def run_changed(execution: Execution, event: Event) -> Line | None:
    """The line of a run as this worker left it: ended, or given back to the queue because its
    sandbox could not be set up; None if it is still running (the worker lost it, and said so)."""
    if execution.status is ExecutionStatus.QUEUED:
        return _given_back(execution, event)
    if execution.status.is_terminal:
        return _ended(execution, event)
    return None


def _ended(execution: Execution, event: Event) -> Line:
    values = _run_fields(execution, event, execution.status)
    seconds = _duration(execution)
    took = ""
    if seconds is not None:
        values["duration_ms"] = round(seconds * 1000, 1)
        took = f" in {_seconds(seconds)}"
    exited = ""
    if execution.exit_code is not None:
        values["exit_code"] = execution.exit_code
        exited = f" (exit code {execution.exit_code})"
    retried = should_retry(execution.status, execution.attempt, event.max_attempts)
    values["retried"] = retried
    then = "; it will be retried" if retried else ""
    message = (
        f"execution {execution.id} {execution.status}{exited}{took}: "
        f"{_of_run(execution, event)}{then}"
    )
    return Line(logging.INFO, message, values)


def _given_back(execution: Execution, event: Event) -> Line:
    values = _run_fields(execution, event, execution.status)
    values["start_failures"] = execution.start_failures
    why = f"; {execution.error}" if execution.error else ""
    message = (
        f"execution {execution.id} given back to the queue, its sandbox could not be set up"
        f" (start failure {execution.start_failures}): {_of_run(execution, event)}{why}"
    )
    return Line(logging.WARNING, message, values)


def _run_fields(execution: Execution, event: Event, status: ExecutionStatus) -> dict[str, Any]:
    values: dict[str, Any] = {
        "execution_id": execution.id,
        "event_id": event.id,
        "event": event.name,
        "status": str(status),
        "attempt": execution.attempt,
        "max_attempts": event.max_attempts,
    }
    if execution.retry_of is not None:
        values["retry_of"] = execution.retry_of
    if execution.parent_id is not None:
        values["workflow_run"] = execution.parent_id
        values["node"] = execution.node
    return values


def _of_run(execution: Execution, event: Event) -> str:
    """What a run's line says of the run besides its status: its event, attempt, what it
    retries, and the workflow run it is a node of."""
    parts = [f"event {event.id} {event.name!r}", f"attempt {execution.attempt}"]
    if event.max_attempts > 1:
        parts[-1] += f" of {event.max_attempts}"
    if execution.retry_of is not None:
        parts.append(f"retry of execution {execution.retry_of}")
    if execution.parent_id is not None:
        parts.append(f"node {execution.node!r} of workflow run {execution.parent_id}")
    return ", ".join(parts)


def _duration(execution: Execution) -> float | None:
    if execution.started_at is None or execution.finished_at is None:
        return None
    return max(0.0, (execution.finished_at - execution.started_at).total_seconds())


def _seconds(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"
