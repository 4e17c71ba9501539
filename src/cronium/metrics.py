"""Cronium's Prometheus metrics, all in one registry of its own (``REGISTRY``).

The registry is not prometheus-client's global one, so a process (or a test) may build its
apps as often as it likes. Labels are few-valued: status, language, backend, trigger, pool,
endpoint templates; never an execution's or an event's id. Counters and histograms are
moved by the code that does the work (worker, recorder, scheduler, queue, runtime API);
the gauges of the queue and the workers are read from the database when /metrics is asked
(``refresh``), with one aggregate query each. docs/metrics.md lists every metric.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cronium.domain.event import EventKind
from cronium.domain.execution import Execution
from cronium.domain.worker import DEFAULT_LEASE

if TYPE_CHECKING:  # storage counts with these metrics: no import of it at run time
    from cronium.storage import Store

# No *_created series: they double the output and say only when the process started.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client
REGISTRY = CollectorRegistry(auto_describe=True)

# Label values for what has none: an execution of no pool (any worker may take it), an
# execution that ended before any backend ran it.
ANY_POOL = "*"
NO_BACKEND = "none"

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
_WAIT_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)
_FAST_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_MIB = 1024 * 1024
_BYTES = tuple(float(n * _MIB) for n in (1, 4, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192))

EXECUTIONS = Counter(
    "cronium_executions",
    "Executions that ended, by final status (succeeded, failed, timed_out, cancelled),"
    " language (bash, python, node; http; workflow), backend (native, docker,"
    " local-insecure, http; none when no backend ran it) and trigger.",
    ["status", "language", "backend", "trigger"],
    registry=REGISTRY,
)
REQUEUED = Counter(
    "cronium_executions_requeued",
    "Running executions whose worker stopped renewing its lease, so the scheduler ended them"
    " as lost (a retry follows if the event allows one).",
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "cronium_queue_depth",
    'Queued executions by pool (pool="*": of no pool, any worker may take them), read from'
    " the database when /metrics is scraped.",
    ["pool"],
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "cronium_queue_wait_seconds",
    "Time from an execution being due (queued, or the end of a retry's backoff) to a worker"
    " starting it.",
    ["pool"],
    buckets=_WAIT_SECONDS,
    registry=REGISTRY,
)
SETUP_SECONDS = Histogram(
    "cronium_execution_setup_seconds",
    "Time to prepare a run's sandbox (files, limits, the sandbox started), by backend.",
    ["backend"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
RUN_SECONDS = Histogram(
    "cronium_execution_run_seconds",
    "Time a run's script (or HTTP request) ran, by language and backend.",
    ["language", "backend"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
CLEANUP_SECONDS = Histogram(
    "cronium_execution_cleanup_seconds",
    "Time to take a run's sandbox down, by backend.",
    ["backend"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
SANDBOX_START_SECONDS = Histogram(
    "cronium_sandbox_start_seconds",
    "Time from a worker claiming an execution to its sandbox running the script, by backend.",
    ["backend"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
PEAK_MEMORY = Histogram(
    "cronium_execution_peak_memory_bytes",
    "The most memory a run's processes used at once, by language and backend.",
    ["language", "backend"],
    buckets=_BYTES,
    registry=REGISTRY,
)
CPU_SECONDS = Histogram(
    "cronium_execution_cpu_seconds",
    "CPU time (user and system) a run's processes used, by language and backend.",
    ["language", "backend"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
OOM_KILLS = Counter(
    "cronium_execution_oom_kills",
    "Runs killed for going over their memory limit, by language and backend.",
    ["language", "backend"],
    registry=REGISTRY,
)
TIMEOUTS = Counter(
    "cronium_execution_timeouts",
    "Runs stopped for going over their time limit, by language and backend.",
    ["language", "backend"],
    registry=REGISTRY,
)
START_FAILURES = Counter(
    "cronium_sandbox_start_failures",
    "Runs given back to the queue because their sandbox could not be set up (the script never"
    " started; the same attempt runs again).",
    registry=REGISTRY,
)
RECORD_RETRIES = Counter(
    "cronium_record_retries",
    "Times a worker could not store a run's end (the database was away) and tried again.",
    registry=REGISTRY,
)
WORKERS_ALIVE = Gauge(
    "cronium_workers_alive",
    "Workers whose heartbeat is younger than a lease, by backend, read from the database"
    " when /metrics is scraped.",
    ["backend"],
    registry=REGISTRY,
)
WORKERS_FREE = Gauge(
    "cronium_workers_free_capacity",
    "Runs the alive workers could still take at once (capacity less running), by backend,"
    " read from the database when /metrics is scraped.",
    ["backend"],
    registry=REGISTRY,
)
SCHEDULER_FIRES = Counter(
    "cronium_scheduler_fires",
    "Executions the scheduler queued for a schedule's fire time.",
    registry=REGISTRY,
)
SCHEDULER_LATENESS = Histogram(
    "cronium_scheduler_lateness_seconds",
    "Time from a schedule's fire time to the scheduler queueing its execution.",
    buckets=_WAIT_SECONDS,
    registry=REGISTRY,
)
RUNTIME_REQUESTS = Counter(
    "cronium_runtime_requests",
    "Calls scripts made to the runtime API, by endpoint template (e.g."
    " /variables/{key}) and status class (2xx, 4xx, 5xx).",
    ["endpoint", "status"],
    registry=REGISTRY,
)
RUNTIME_SECONDS = Histogram(
    "cronium_runtime_request_seconds",
    "Time the runtime API took to answer a script, by endpoint template.",
    ["endpoint"],
    buckets=_FAST_SECONDS,
    registry=REGISTRY,
)
LOG_LINES_DROPPED = Counter(
    "cronium_log_lines_dropped",
    "Output lines of runs that were not stored, by reason (for example over the per-run"
    " limit, or too long).",
    ["reason"],
    registry=REGISTRY,
)
RETENTION_DELETED = Counter(
    "cronium_retention_deleted",
    "Rows the retention chore deleted, by what (executions, log_lines).",
    ["what"],
    registry=REGISTRY,
)


def language_of(kind: str, language: str | None) -> str:
    """The language label of an event: its script's language, or its kind (http, workflow)."""
    if kind == EventKind.SCRIPT:
        return language or "unknown"
    return str(kind)


def backend_of(kind: str, backend: str) -> str:
    """The backend label of a run of an event of ``kind`` by a worker on ``backend``."""
    if kind == EventKind.HTTP:
        return "http"
    return NO_BACKEND if kind == EventKind.WORKFLOW else backend


def queue_wait(execution: Execution) -> float | None:
    """Seconds from ``execution`` being due (queued, or the end of a retry's backoff) to its
    start; None if it has not started."""
    if execution.started_at is None:
        return None
    due = max(execution.queued_at, execution.due_at or execution.queued_at)
    return max((execution.started_at - due).total_seconds(), 0.0)


def count_claimed(execution: Execution) -> None:
    """A worker started ``execution``: how long it waited."""
    if (wait := queue_wait(execution)) is not None:
        QUEUE_WAIT.labels(execution.pool or ANY_POOL).observe(wait)


def count_ended(execution: Execution, *, language: str, backend: str) -> None:
    """``execution`` ended (with a terminal status); a no-op for any other status."""
    if execution.status.is_terminal:
        EXECUTIONS.labels(str(execution.status), language, backend, execution.trigger).inc()


def count_run(execution: Execution, *, language: str, backend: str) -> None:
    """What an ended run used and how long each of its steps took."""
    if execution.setup_seconds is not None:
        SETUP_SECONDS.labels(backend).observe(execution.setup_seconds)
        if execution.started_at is not None and execution.finished_at is not None:
            # from the claim to the script running: the worker's preparation and the setup
            took = (execution.finished_at - execution.started_at).total_seconds()
            ran = (execution.run_seconds or 0.0) + (execution.cleanup_seconds or 0.0)
            SANDBOX_START_SECONDS.labels(backend).observe(max(took - ran, 0.0))
    if execution.run_seconds is not None:
        RUN_SECONDS.labels(language, backend).observe(execution.run_seconds)
    if execution.cleanup_seconds is not None:
        CLEANUP_SECONDS.labels(backend).observe(execution.cleanup_seconds)
    if execution.peak_memory_bytes is not None:
        PEAK_MEMORY.labels(language, backend).observe(execution.peak_memory_bytes)
    if execution.cpu_seconds is not None:
        CPU_SECONDS.labels(language, backend).observe(execution.cpu_seconds)
    if execution.oom_killed:
        OOM_KILLS.labels(language, backend).inc()
    if execution.timed_out:
        TIMEOUTS.labels(language, backend).inc()


async def refresh(store: Store, now: datetime) -> None:
    """Read the gauges of the queue and the workers from the database (two queries)."""
    depths = await store.queue.depth_by_pool()
    workers = await store.workers.all()
    QUEUE_DEPTH.clear()
    for pool, count in depths.items():
        QUEUE_DEPTH.labels(pool or ANY_POOL).set(count)
    WORKERS_ALIVE.clear()
    WORKERS_FREE.clear()
    for worker in workers:
        if worker.state(now, DEFAULT_LEASE) == "alive":
            WORKERS_ALIVE.labels(worker.backend).inc()
            WORKERS_FREE.labels(worker.backend).inc(max(worker.capacity - worker.running, 0))


async def exposition(store: Store, now: datetime) -> bytes:
    """Every metric in the Prometheus text format, the gauges read afresh."""
    await refresh(store, now)
    return generate_latest(REGISTRY)


def metrics_app(store: Store, clock: Callable[[], datetime]) -> Starlette:
    """An ASGI app that serves only /metrics: for a worker or scheduler process without the
    API (``CRONIUM_METRICS_PORT``)."""

    async def metrics(request: Request) -> Response:
        return Response(await exposition(store, clock()), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics)])
