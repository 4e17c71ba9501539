"""Scripts and typed variables through the runtime API: secrets read decrypted (and audited),
schemas enforced on scripts' writes, expired variables missing; real sandboxes, both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from cronium.crypto import Keyring, generate_key, parse_key
from cronium.domain.audit import AuditAction
from cronium.domain.event import Language
from cronium.domain.execution import ExecutionStatus
from cronium.domain.user import Role, User
from cronium.domain.variable import VariableChange
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.spec import SandboxBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.worker import Worker
from tests.factories import script_event, unique_name
from tests.runs import done

SECRET = "marmot-obsidian-4410"


@dataclass
class Harness:
    store: Store
    service: Service
    user: User
    worker: Worker

    async def run(self, script: str) -> tuple[ExecutionStatus, list[str], list[str], int]:
        fields = script_event(script, Language.PYTHON, name=unique_name("e"), timeout_seconds=30)
        event = await self.service.create_event(self.user, fields)
        queued = await self.service.run_event(self.user, event.id, None)
        assert await self.worker.run_once()
        result = await done(self.store, queued.id)
        return result.execution.status, result.stdout, result.stderr, queued.id

    async def write(self, key: str, change: VariableChange) -> None:
        await self.store.variables.write(self.user.id, key, change, datetime.now(UTC))


@pytest.fixture
async def harness(database_url: str, sandbox_backend: SandboxBackend) -> AsyncIterator[Harness]:
    keyring = Keyring(parse_key(generate_key(), "test"))
    engine = create_engine(database_url)
    store = Store(engine, keyring)
    service = Service(store)
    user, _ = await service.accounts.create_admin("owner")
    runtime = RuntimeServer(database_url, keyring=keyring)
    await asyncio.to_thread(runtime.start)
    try:
        yield Harness(store, service, user, Worker(store, sandbox_backend, runtime=runtime))
    finally:
        await asyncio.to_thread(runtime.stop)
        await engine.dispose()


async def test_a_script_reads_a_secret_decrypted_and_the_read_is_audited(
    harness: Harness,
) -> None:
    await harness.write("api_key", VariableChange({"token": SECRET}, secret=True))
    await harness.write("plain", VariableChange(1))
    status, stdout, stderr, execution_id = await harness.run(
        "import cronium, json\n"
        "secret = cronium.get_variable('api_key')\n"
        "print('length', len(secret['token']))\n"
        "print('listed', sorted(cronium.list_variables()))\n"
    )
    assert status is ExecutionStatus.SUCCEEDED, stderr
    assert stdout[0] == f"length {len(SECRET)}"
    assert stdout[1] == "listed ['plain']"  # secrets are read by key, never listed
    reads = await harness.store.audit.find(action=AuditAction.SECRET_READ)
    assert len(reads) == 1
    assert (reads[0].execution_id, reads[0].actor_id) == (execution_id, harness.user.id)


async def test_a_script_writing_a_secret_keeps_it_secret(harness: Harness) -> None:
    await harness.write("pw", VariableChange("old", secret=True))
    status, _, stderr, _ = await harness.run(
        f"import cronium\ncronium.set_variable('pw', '{SECRET}')\n"
    )
    assert status is ExecutionStatus.SUCCEEDED, stderr
    found = await harness.store.variables.find(harness.user.id, "pw", datetime.now(UTC))
    assert found is not None
    assert found.secret
    assert found.value is None
    assert (await harness.store.variables.get(harness.user.id, "pw"))[1] == SECRET


async def test_a_script_write_failing_the_schema_is_refused_naming_the_path(
    harness: Harness,
) -> None:
    schema = {"type": "object", "properties": {"count": {"type": "integer", "minimum": 0}}}
    await harness.write("state", VariableChange({"count": 1}, schema=schema))
    status, stdout, stderr, _ = await harness.run(
        "import cronium\n"
        "try:\n"
        "    cronium.set_variable('state', {'count': -5})\n"
        "except cronium.CroniumError as exc:\n"
        "    print('refused:', exc)\n"
        "cronium.set_variable('state', {'count': 7})\n"
    )
    assert status is ExecutionStatus.SUCCEEDED, stderr
    assert stdout[0].startswith("refused:")
    assert "$.count" in stdout[0]
    assert "minimum 0" in stdout[0]
    assert (await harness.store.variables.get(harness.user.id, "state"))[1] == {"count": 7}


async def test_an_expired_variable_is_missing_for_a_script(harness: Harness) -> None:
    gone = datetime.now(UTC) - timedelta(seconds=1)
    await harness.write("old", VariableChange("stale", expires_at=gone))
    status, stdout, stderr, _ = await harness.run(
        "import cronium, json\n"
        "print(json.dumps(cronium.get_variable('old', 'missing')))\n"
        "print(json.dumps(cronium.list_variables()))\n"
    )
    assert status is ExecutionStatus.SUCCEEDED, stderr
    assert [json.loads(line) for line in stdout] == ["missing", {}]


async def test_another_users_script_reaches_none_of_the_owners_variables(
    harness: Harness,
) -> None:
    await harness.write("api_key", VariableChange(SECRET, secret=True))
    await harness.write("plain", VariableChange("mine"))
    other = await harness.service.accounts.create_user(None, unique_name("other"), Role.USER, None)
    fields = script_event(
        "import cronium\n"
        "print(cronium.get_variable('plain', 'missing'), cronium.get_variable('api_key', 'x'))\n"
        "print(sorted(cronium.list_variables()))\n",
        Language.PYTHON,
        name=unique_name("e"),
        timeout_seconds=30,
    )
    event = await harness.service.create_event(other, fields)
    queued = await harness.service.run_event(other, event.id, None)
    assert await harness.worker.run_once()
    lines = [line.line for line in await harness.store.logs.read(queued.id)]
    assert lines[:2] == ["missing x", "[]"], lines
    assert not await harness.store.audit.find(action=AuditAction.SECRET_READ)
