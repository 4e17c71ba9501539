"""Real faults under real processes: the database going away, a worker frozen past its lease."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cronium.domain.execution import ExecutionStatus
from cronium.domain.schedule import Schedule
from cronium.errors import CroniumError
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from tests import postgres
from tests.backends import missing
from tests.e2e.server import kill_all, start_role, start_server
from tests.e2e.test_fleet import native  # noqa: F401  (a fixture)
from tests.factories import event_body, python_event, script_event
from tests.polling import until

OUTAGE_SECONDS = 12
COMING_BACK = (CroniumError,)  # what the store raises while the database comes back


class Cluster:
    """A PostgreSQL cluster of this test alone (it is stopped midway), with the processes."""

    def __init__(self, cluster: postgres.Cluster, url: str) -> None:
        self.cluster = cluster
        self.url = url
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, role: str, **env: str) -> subprocess.Popen[bytes]:
        process = start_role(self.url, role, **env)
        self.processes.append(process)
        return process


@pytest.fixture
async def own_cluster(native: None) -> AsyncIterator[Cluster]:  # noqa: F811
    binaries = postgres.find_binaries()
    if binaries is None:
        missing("PostgreSQL is not installed (apt-get install postgresql)")
    cluster = postgres.Cluster(binaries).create()
    running = Cluster(cluster, await postgres.create_database(cluster.url, "cronium"))
    try:
        yield running
    finally:
        kill_all(running.processes)
        cluster.remove()


@pytest.mark.timeout(240)
async def test_the_fleet_carries_on_by_itself_after_a_database_outage(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    """PostgreSQL stopped for 12 s under load and started again: the workers and the scheduler
    live on, every accepted run ends exactly once with its output, and the schedules fire again
    with no double fire."""
    engine = create_engine(own_cluster.url)
    await migrate(engine)
    api = start_server(tmp_path, {"CRONIUM_DATABASE_URL": own_cluster.url}, role="api")
    store = Store(engine)
    service = Service(store)
    user, _ = await service.accounts.create_admin("outage")
    script = 'sleep 0.3; echo "ran $CRONIUM_EXECUTION_ID"'
    work = await service.create_event(user, script_event(script, name="work", timeout_seconds=60))
    every_second = Schedule.of_cron("* * * * * *")
    ticking = await service.create_event(user, script_event(name="tick", schedule=every_second))
    ids = [(await service.run_event(user, work.id)).id for _ in range(80)]
    workers = [own_cluster.start("worker") for _ in range(2)]
    scheduler = own_cluster.start("scheduler")

    async def some_ended() -> bool:
        executions = await store.executions.latest(event_id=work.id, visible_to=None, limit=500)
        return sum(e.status.is_terminal for e in executions) >= 10

    await until(some_ended, 60, "the first runs ending", interval=0.2)
    await engine.dispose()
    own_cluster.cluster.stop("fast")
    answers = []
    with api.client() as client:
        for _ in range(OUTAGE_SECONDS * 2):  # bounded: the outage's length
            answers.append(client.post("/api/v1/events", json=event_body(name="x", script="true")))
            await asyncio.sleep(0.5)  # the outage lasts as long as the requests go on
    assert all(process.poll() is None for process in [*workers, scheduler]), "a process exited"
    assert {answer.status_code for answer in answers} == {503}
    assert {answer.json()["error"] for answer in answers} == {"storage_unavailable"}
    own_cluster.cluster.start()
    back = datetime.now(UTC)

    async def all_ended() -> bool:
        current = [await store.executions.get(i) for i in ids]
        return all(e.status.is_terminal for e in current)

    await until(all_ended, 120, "every run ending", interval=0.2, ignoring=COMING_BACK)
    for execution_id in ids:
        execution = await store.executions.get(execution_id)
        said = f"execution {execution_id} {execution.status}: {execution.error}"
        assert execution.status is ExecutionStatus.SUCCEEDED, said
        lines = await store.logs.read(execution_id)
        assert [line.line for line in lines] == [f"ran {execution_id}"]

    async def fired_again() -> bool:
        fires = await store.executions.latest(event_id=ticking.id, visible_to=None, limit=1000)
        return any(e.scheduled_at and e.scheduled_at > back + timedelta(seconds=2) for e in fires)

    await until(fired_again, 30, "the schedule firing again", interval=0.2, ignoring=COMING_BACK)
    fires = await store.executions.latest(event_id=ticking.id, visible_to=None, limit=1000)
    moments = [e.scheduled_at for e in fires]
    assert len(moments) == len(set(moments)), "a fire was queued twice"
    assert all(process.poll() is None for process in [*workers, scheduler]), "a process exited"
    for process in [*workers, scheduler]:
        process.send_signal(signal.SIGTERM)
    for process in [*workers, scheduler]:
        assert process.wait(timeout=60) == 0
    with api.client() as client:  # the API carries on by itself too
        assert client.get("/api/v1/events").status_code == 200
    api.stop()
    await engine.dispose()


FROZEN_SCRIPT = """
import time
import cronium
attempt = cronium.event()["attempt"]
if attempt == 1:
    time.sleep(5)  # the worker is frozen meanwhile; its retry runs elsewhere
cronium.set_variable("who", attempt)
print("wrote", attempt)
"""


@pytest.mark.timeout(180)
async def test_a_worker_frozen_past_its_lease_has_no_side_effect_after_it(
    own_cluster: Cluster,
) -> None:
    """SIGSTOP a worker while its run sleeps, for longer than its lease: the run is retried on
    the other worker, and after SIGCONT nothing of the first run counts: the variable keeps the
    retry's value, the first run's late lines are not added, and the worker lives on."""
    engine = create_engine(own_cluster.url)
    await migrate(engine)
    store = Store(engine)
    service = Service(store)
    user, _ = await service.accounts.create_admin("frozen")
    fields = python_event(FROZEN_SCRIPT, name="frozen", timeout_seconds=60, max_attempts=2)
    event = await service.create_event(user, fields)
    lease = {"CRONIUM_WORKER_LEASE": "3"}
    frozen = own_cluster.start("worker", **lease)
    first = await service.run_event(user, event.id)

    async def running() -> bool:
        return (await store.executions.get(first.id)).status is ExecutionStatus.RUNNING

    await until(running, 60, "the first attempt running", interval=0.2)
    frozen.send_signal(signal.SIGSTOP)
    other = own_cluster.start("worker", **lease)
    try:

        async def retried() -> bool:
            runs = await store.executions.latest(event_id=event.id, visible_to=None, limit=10)
            return any(e.retry_of == first.id and e.status.is_terminal for e in runs)

        await until(retried, 60, "the retry ending", interval=0.2)
        # time for the frozen run's sleep to end: its write then waits on the frozen worker
        await asyncio.sleep(3)
    finally:
        frozen.send_signal(signal.SIGCONT)
    # time for the thawed worker to handle what waited: nothing of it may count, which only
    # time can show
    await asyncio.sleep(4)
    assert frozen.poll() is None, "the thawed worker exited"
    assert other.poll() is None
    lost = await store.executions.get(first.id)
    assert lost.status is ExecutionStatus.FAILED
    assert (lost.error or "").startswith("worker lost")
    assert [line.line for line in await store.logs.read(first.id)] == []
    (retry,) = [
        e
        for e in await store.executions.latest(event_id=event.id, visible_to=None, limit=10)
        if e.retry_of == first.id
    ]
    assert retry.status is ExecutionStatus.SUCCEEDED
    assert [line.line for line in await store.logs.read(retry.id)] == ["wrote 2"]
    assert await store.variables.get(user.id, "who") == (True, 2)
    await engine.dispose()
