"""/metrics: served open in the Prometheus format, and moved by real runs, cancellations and
the state of the queue and the workers (on both databases, with the fake sandbox)."""

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cronium.api.app import create_app
from cronium.domain.schedule import Schedule
from cronium.errors import SandboxStartError
from cronium.logs import FIELDS
from cronium.sandbox.fake import FakeBackend, FakeRun
from cronium.sandbox.spec import SandboxSpec
from cronium.scheduler import Scheduler
from cronium.service import Service
from cronium.settings import WorkerSettings
from cronium.worker import Worker
from tests.clock import FakeClock
from tests.factories import (
    python_event,
    script_event,
    unique_name,
    workflow_event,
    workflow_graph,
)
from tests.scrape import sample

ENDED = "cronium_executions_total"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def scrape(service: Service) -> str:
    """The /metrics page, asked with no token."""
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://cronium") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def queue_run(service: Service, script: str = "print(1)", **fields: object) -> int:
    user, _ = await service.accounts.create_admin(unique_name("u"))
    event = await service.create_event(user, python_event(script, name=unique_name(), **fields))
    return (await service.run_event(user, event.id)).id


async def test_it_serves_every_metric_without_a_token(service: Service) -> None:
    text = await scrape(service)
    for name in (
        "cronium_executions_total",
        "cronium_queue_wait_seconds",
        "cronium_execution_peak_memory_bytes",
        "cronium_scheduler_lateness_seconds",
        "cronium_runtime_requests_total",
        "cronium_log_lines_dropped_total",
        "cronium_retention_deleted_total",
        "cronium_queue_depth",
        "cronium_workers_alive",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


async def test_a_run_moves_the_counters_of_its_end_and_its_wait(service: Service) -> None:
    before = await scrape(service)
    await queue_run(service)
    backend = FakeBackend(lambda spec: FakeRun(exit_code=3, timed_out=True))
    assert await Worker(service.store, backend).run_once()
    after = await scrape(service)
    labels = {"status": "timed_out", "language": "python", "backend": "fake", "trigger": "manual"}
    assert sample(after, ENDED, **labels) == sample(before, ENDED, **labels) + 1
    wait = "cronium_queue_wait_seconds_count"
    assert sample(after, wait, pool="*") == sample(before, wait, pool="*") + 1
    timeouts = "cronium_execution_timeouts_total"
    assert sample(after, timeouts, backend="fake") == sample(before, timeouts, backend="fake") + 1
    ran = "cronium_execution_run_seconds_count"
    assert sample(after, ran, language="python") == sample(before, ran, language="python") + 1


async def test_the_queue_depth_and_the_workers_are_read_at_scrape_time(service: Service) -> None:
    await queue_run(service, pool="gpu")
    await queue_run(service, pool="gpu")
    await queue_run(service)
    worker = Worker(service.store, FakeBackend(), WorkerSettings(concurrency=3))
    await worker.register()
    text = await scrape(service)
    assert sample(text, "cronium_queue_depth", pool="gpu") == 2
    assert sample(text, "cronium_queue_depth", pool="*") == 1
    assert sample(text, "cronium_workers_alive", backend="fake") == 1
    assert sample(text, "cronium_workers_free_capacity", backend="fake") == 3


async def test_a_cancel_of_a_queued_run_counts_and_says_so(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    before = await scrape(service)
    execution_id = await queue_run(service)
    with caplog.at_level(logging.INFO, logger="cronium.storage.queue"):
        await service.store.queue.cancel(execution_id, service.clock())
    after = await scrape(service)
    labels = {"status": "cancelled", "backend": "none", "language": "python"}
    assert sample(after, ENDED, **labels) == sample(before, ENDED, **labels) + 1
    said = [(r.getMessage(), getattr(r, FIELDS, {})) for r in caplog.records]
    [(text, line)] = [(m, f) for m, f in said if f.get("execution_id") == execution_id]
    assert line["status"] == "cancelled"
    assert (
        text
        == f"execution {execution_id} cancelled before it ran: event {line['event_id']}, attempt 1"
    )


async def test_a_fire_counts_with_its_lateness(service: Service) -> None:
    clock = FakeClock(T0)
    service.clock = clock
    user, _ = await service.accounts.create_admin(unique_name("u"))
    await service.create_event(user, script_event(schedule=Schedule.of_cron("* * * * *")))
    before = await scrape(service)
    clock.set(T0 + timedelta(minutes=1, seconds=2))
    assert len(await Scheduler(service.store, clock=clock).run_once()) == 1
    after = await scrape(service)
    fires = "cronium_scheduler_fires_total"
    assert sample(after, fires) == sample(before, fires) + 1
    late = "cronium_scheduler_lateness_seconds_sum"
    assert sample(after, late) == pytest.approx(sample(before, late) + 2)
    late_count = "cronium_scheduler_lateness_seconds_count"
    assert sample(after, late_count) == sample(before, late_count) + 1


async def test_a_run_lost_with_its_worker_counts_and_says_so(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = await queue_run(service)
    now = service.clock()
    [(claimed, _)] = await service.store.queue.claim("gone:1", now, lease=timedelta(seconds=1))
    assert claimed.id == execution_id
    before = await scrape(service)
    with caplog.at_level(logging.INFO, logger="cronium.storage.queue"):
        [lost] = await service.store.queue.requeue_expired(now + timedelta(minutes=1))
    after = await scrape(service)
    requeued = "cronium_executions_requeued_total"
    assert sample(after, requeued) == sample(before, requeued) + 1
    failed = {"status": "failed", "backend": "none"}
    assert sample(after, ENDED, **failed) == sample(before, ENDED, **failed) + 1
    said = [getattr(r, FIELDS, {}) for r in caplog.records]
    [line] = [f for f in said if f.get("execution_id") == execution_id]
    assert (line["status"], line["worker"]) == ("failed", "gone:1")
    assert lost.lost.id == execution_id


async def test_a_sandbox_that_could_not_start_counts_and_nothing_ends(service: Service) -> None:
    await queue_run(service)

    def unable(spec: SandboxSpec) -> FakeRun:
        raise SandboxStartError("the container could not start")

    before = await scrape(service)
    assert await Worker(service.store, FakeBackend(unable)).run_once()
    after = await scrape(service)
    failures = "cronium_sandbox_start_failures_total"
    assert sample(after, failures) == sample(before, failures) + 1
    assert sample(after, ENDED) == sample(before, ENDED)
    assert sample(after, "cronium_queue_depth", pool="*") == 1


async def test_a_retry_and_a_workflow_run_are_said_and_counted(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    user, _ = await service.accounts.create_admin(unique_name("u"))
    flaky = await service.create_event(
        user, python_event("x", name=unique_name(), max_attempts=2, retry_backoff_seconds=1)
    )
    step = await service.create_event(user, script_event("echo", name=unique_name()))
    flow = await service.create_event(user, workflow_event(workflow_graph({"only": step.id})))
    before = await scrape(service)
    failing = Worker(service.store, FakeBackend(lambda spec: FakeRun(exit_code=1)))
    with caplog.at_level(logging.INFO, logger="cronium.storage.queue"):
        first = await service.run_event(user, flaky.id)
        assert await failing.run_once()
        run = await service.run_event(user, flow.id)
        assert await Worker(service.store, FakeBackend()).run_once()
    said = [(r.getMessage(), getattr(r, FIELDS, {})) for r in caplog.records]
    retries = [f for m, f in said if "queued" in m and f.get("event_id") == flaky.id]
    assert [(f["attempt"], f["status"]) for f in retries] == [(1, "queued"), (2, "queued")]
    assert any(f.get("execution_id") == run.id and "ended" in m for m, f in said)
    nodes = [f for m, f in said if "queued" in m and f.get("event_id") == step.id]
    assert len(nodes) == 1  # the node's execution, queued by the run's start
    after = await scrape(service)
    ended = {"status": "succeeded", "language": "workflow"}
    assert sample(after, ENDED, **ended) == sample(before, ENDED, **ended) + 1
    assert first.attempt == 1
