"""A fleet on PostgreSQL: several real `cronium worker` processes sharing one queue."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from cronium.domain.execution import TERMINAL_STATUSES, Execution, ExecutionStatus
from cronium.domain.schedule import Schedule
from cronium.domain.user import User
from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine
from tests import postgres
from tests.backends import missing
from tests.conftest import TEMPLATE
from tests.e2e.server import kill_all, start_role
from tests.factories import script_event, unique_name
from tests.polling import until
from tests.processes import sandbox_processes

LEASE = 3.0


@dataclass
class Fleet:
    url: str
    store: Store
    service: Service
    user: User
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        return self.start("worker", **env)

    def start(self, role: str, **env: str) -> subprocess.Popen[bytes]:
        process = start_role(self.url, role, **{"CRONIUM_WORKER_LEASE": str(LEASE), **env})
        self.processes.append(process)
        return process

    async def event(self, script: str, **options: object) -> int:
        fields = script_event(script, name=unique_name("fleet"), timeout_seconds=60, **options)
        return (await self.service.create_event(self.user, fields)).id

    async def wait(self, ids: list[int], statuses: set[ExecutionStatus], seconds: float) -> None:
        async def reached() -> bool:
            return {(await self.store.executions.get(i)).status for i in ids} <= statuses

        await until(reached, seconds, f"executions reaching {statuses}", interval=0.1)

    async def executions(self, event_id: int) -> list[Execution]:
        return await self.store.executions.latest(event_id=event_id, visible_to=None, limit=5000)


@pytest.fixture(scope="module")
def native() -> None:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")


@pytest.fixture
async def fleet(postgres_server: str, native: None) -> AsyncIterator[Fleet]:
    name = f"cronium_fleet_{os.getpid()}_{time.monotonic_ns()}"
    url = await postgres.create_database(postgres_server, name, template=TEMPLATE)
    engine = create_engine(url)
    store = Store(engine)
    service = Service(store)
    user, _ = await service.accounts.create_admin("fleet")
    running = Fleet(url, store, service, user)
    try:
        yield running
    finally:
        kill_all(running.processes)
        await engine.dispose()
        await postgres.drop_database(postgres_server, name)


@pytest.mark.timeout(300)
async def test_500_executions_on_3_workers_one_killed_each_ends_exactly_once(
    fleet: Fleet,
) -> None:
    event_id = await fleet.event('echo "ran $CRONIUM_EXECUTION_ID"; sleep 0.05', max_attempts=2)
    ids = [(await fleet.service.run_event(fleet.user, event_id)).id for _ in range(500)]
    workers = [fleet.start_worker() for _ in range(3)]
    await _wait_until_ended(fleet, event_id, 150)  # then kill one, sandboxes running
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    fleet.start_worker()  # a new worker on this host cleans up after the dead one

    everything = await _wait_for_all(fleet, event_id, 500)
    await _assert_each_ended_exactly_once(fleet, everything, set(ids))
    assert len({e.worker_id for e in everything}) >= 3
    # stop the others cleanly; nothing of the dead worker's sandboxes is left
    for process in fleet.processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in fleet.processes:
        process.wait(timeout=60)
    assert sandbox_processes() == set()
    assert NativeBackend().remove_leftovers() == []


async def _assert_each_ended_exactly_once(
    fleet: Fleet, everything: list[Execution], original_ids: set[int]
) -> None:
    originals = [e for e in everything if e.id in original_ids]
    retries = {e.retry_of: e for e in everything if e.retry_of is not None}
    assert len(originals) == len(original_ids)
    assert all(e.status in TERMINAL_STATUSES for e in everything)
    lost = [e for e in originals if e.status is not ExecutionStatus.SUCCEEDED]
    for execution in lost:  # failed with the killed worker, and retried once
        assert execution.status is ExecutionStatus.FAILED, execution
        assert (execution.error or "").startswith("worker lost"), execution
        assert retries[execution.id].status is ExecutionStatus.SUCCEEDED
    assert len(retries) == len(lost)
    for execution in everything:  # each ran exactly once: one line, its own id
        if execution.status is ExecutionStatus.SUCCEEDED:
            lines = await fleet.store.logs.read(execution.id)
            assert [line.line for line in lines] == [f"ran {execution.id}"]


async def _wait_until_ended(fleet: Fleet, event_id: int, count: int) -> None:
    async def ended() -> bool:
        return sum(e.status.is_terminal for e in await fleet.executions(event_id)) >= count

    await until(ended, 120, f"{count} executions ending", interval=0.1)


async def _wait_for_all(fleet: Fleet, event_id: int, originals: int) -> list[Execution]:
    async def all_ended() -> list[Execution] | None:
        everything = await fleet.executions(event_id)
        if len(everything) >= originals and all(e.status.is_terminal for e in everything):
            return everything
        return None

    return await until(all_ended, 240, "every execution ending", interval=0.2)


@pytest.mark.timeout(120)
async def test_a_running_execution_is_cancelled_within_2_seconds(fleet: Fleet) -> None:
    event_id = await fleet.event("echo started; sleep 60")
    execution = await fleet.service.run_event(fleet.user, event_id)
    fleet.start_worker()
    await fleet.wait([execution.id], {ExecutionStatus.RUNNING}, 60)
    await until(lambda: fleet.store.logs.read(execution.id), 10, "the script starting")
    asked = time.monotonic()
    await fleet.service.cancel_execution(fleet.user, execution.id)
    await fleet.wait([execution.id], {ExecutionStatus.CANCELLED}, 10)
    assert time.monotonic() - asked < 2
    cancelled = await fleet.store.executions.get(execution.id)
    assert cancelled.error == "cancelled by a user"
    assert sandbox_processes() == set()


@pytest.mark.timeout(120)
async def test_sigterm_lets_running_executions_finish_then_stops(fleet: Fleet) -> None:
    event_id = await fleet.event("sleep 2; echo finished")
    ids = [(await fleet.service.run_event(fleet.user, event_id)).id for _ in range(3)]
    worker = fleet.start_worker()
    await fleet.wait(ids, {ExecutionStatus.RUNNING}, 60)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    for execution_id in ids:
        assert (await fleet.store.executions.get(execution_id)).status is ExecutionStatus.SUCCEEDED
    (info,) = await fleet.store.workers.all()
    assert info.stopped_at is not None


@pytest.mark.timeout(120)
async def test_two_scheduler_processes_fire_each_time_exactly_once(fleet: Fleet) -> None:
    every_second = Schedule.of_cron("* * * * * *")
    events = [await fleet.event("true", schedule=every_second) for _ in range(20)]
    schedulers = [fleet.start("scheduler") for _ in range(2)]

    async def firing() -> bool:
        return len(await _fires(fleet)) >= len(events)

    await until(firing, 30, "the schedulers firing", interval=0.1)
    # Real processes on the real clock: the windows below are time that must pass.
    await asyncio.sleep(2)  # the second scheduler is up too by then
    started = datetime.now(UTC)
    await asyncio.sleep(4)  # both fire
    schedulers[0].send_signal(signal.SIGKILL)  # the other one carries on alone
    await asyncio.sleep(4)  # it alone fires
    ended = datetime.now(UTC)
    schedulers[1].send_signal(signal.SIGTERM)
    assert schedulers[1].wait(timeout=30) == 0
    fires = await _fires(fleet)
    assert len(fires) == len(set(fires)), "a fire happened twice"
    first = started.replace(microsecond=0) + timedelta(seconds=1)
    seconds = int((ended - first).total_seconds())
    for event_id in events:
        expected = {first + timedelta(seconds=n) for n in range(seconds)}
        assert expected <= {at for event, at in fires if event == event_id}, "a fire was missed"


async def _fires(fleet: Fleet) -> list[tuple[int, datetime]]:
    executions = await fleet.store.executions.latest(event_id=None, visible_to=None, limit=100_000)
    return [(e.event_id, e.scheduled_at) for e in executions if e.scheduled_at is not None]


def test_the_compose_file_runs_postgres_the_api_the_scheduler_and_two_workers() -> None:
    compose = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    commands = {name: service.get("command", []) for name, service in services.items()}
    assert services["postgres"]["image"].startswith("postgres:")
    assert commands["api"][:2] == ["cronium", "api"]
    assert commands["scheduler"] == ["cronium", "scheduler"]
    workers = [name for name, command in commands.items() if command == ["cronium", "worker"]]
    assert len(workers) == 2
    for name in ("api", "scheduler", *workers):
        url = services[name]["environment"]["CRONIUM_DATABASE_URL"]
        assert url.startswith("postgresql://")
        assert "@postgres:5432/" in url
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
