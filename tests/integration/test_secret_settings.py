"""An event's secrets setting over REST and through a worker, on both databases: what it
accepts, what it refuses with a 422, and a mapped secret deleted since its event was saved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cronium.api.app import create_app
from cronium.crypto import Keyring, generate_key, parse_key
from cronium.domain.execution import ExecutionStatus
from cronium.domain.user import User
from cronium.domain.variable import VariableChange
from cronium.sandbox.fake import FakeBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.worker import Worker
from tests.factories import script_event, unique_name
from tests.integration.rest import assert_error

KEY = parse_key(generate_key(), "test")
VALUE = "plum-orbit-5521-never-shown"


@pytest.fixture
async def keyed_store(database_url: str) -> AsyncIterator[Store]:
    engine = create_engine(database_url)
    yield Store(engine, Keyring(KEY))
    await engine.dispose()


@pytest.fixture
async def owner(keyed_store: Store) -> tuple[Service, User, str]:
    service = Service(keyed_store)
    user, issued = await service.accounts.create_admin("owner")
    for key in ("API_KEY", "db.password"):
        change = VariableChange(value=VALUE, secret=True)
        await keyed_store.variables.write(user.id, key, change, datetime.now(UTC))
    return service, user, issued.secret


@pytest.fixture
async def rest(owner: tuple[Service, User, str]) -> AsyncIterator[httpx.AsyncClient]:
    service, _, token = owner
    transport = httpx.ASGITransport(app=create_app(service))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cronium/api/v1", headers=headers
    ) as http:
        yield http


def body(secrets: Any) -> dict[str, Any]:
    return {"name": unique_name(), "language": "bash", "script": "true", "secrets": secrets}


async def test_an_event_maps_its_owners_secrets_to_files_and_the_environment(
    rest: httpx.AsyncClient,
) -> None:
    created = await rest.post("/events", json=body({"db.password": "file", "API_KEY": "env"}))

    assert created.status_code == 201, created.text
    event = created.json()
    assert event["secrets"] == {"db.password": "file", "API_KEY": "env"}
    assert VALUE not in created.text
    shown = (await rest.get(f"/events/{event['id']}")).json()
    assert shown["secrets"] == {"db.password": "file", "API_KEY": "env"}
    changed = await rest.patch(f"/events/{event['id']}", json={"secrets": {}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["secrets"] == {}


async def test_an_event_without_secrets_maps_none(rest: httpx.AsyncClient) -> None:
    created = await rest.post(
        "/events", json={"name": unique_name(), "language": "bash", "script": "true"}
    )

    assert created.status_code == 201, created.text
    assert created.json()["secrets"] == {}


@pytest.mark.parametrize(
    ("secrets", "fragment"),
    [
        ({"API_KEY": "disk"}, "'file' or 'env'"),
        ({"no/slash": "file"}, "is not a secret's key"),
        ({"": "file"}, "is not a secret's key"),
        ({"db.password": "env"}, "cannot be mapped to the environment"),
        ({"CRONIUM_TOKEN": "env"}, "reserved"),
        ({f"K{n}": "file" for n in range(65)}, "64"),
        (["API_KEY"], "dictionary"),
    ],
)
async def test_a_bad_mapping_gets_a_422_saying_what_is_wrong(
    rest: httpx.AsyncClient, secrets: Any, fragment: str
) -> None:
    response = await rest.post("/events", json=body(secrets))

    assert response.status_code == 422, response.text
    assert fragment in response.text


async def test_mapping_a_secret_the_owner_does_not_have_gets_a_422_naming_it(
    rest: httpx.AsyncClient,
) -> None:
    refused = await rest.post("/events", json=body({"API_KEY": "file", "NOPE": "file"}))

    assert_error(refused, 422, "'NOPE'", "no secret variable")
    assert "API_KEY" not in refused.json()["message"]
    event = (await rest.post("/events", json=body({}))).json()
    changed = await rest.patch(f"/events/{event['id']}", json={"secrets": {"PLAIN": "env"}})
    assert_error(changed, 422, "'PLAIN'")


async def test_a_plain_variable_cannot_be_mapped_as_a_secret(
    rest: httpx.AsyncClient, owner: tuple[Service, User, str], keyed_store: Store
) -> None:
    _, user, _ = owner
    await keyed_store.variables.put(user.id, "PLAIN", "visible", datetime.now(UTC))

    refused = await rest.post("/events", json=body({"PLAIN": "file"}))

    assert_error(refused, 422, "'PLAIN' is a plain variable, not a secret")


async def test_a_run_whose_mapped_secret_was_deleted_fails_before_its_script_starts(
    owner: tuple[Service, User, str], keyed_store: Store
) -> None:
    service, user, _ = owner
    fields = script_event("echo started", secrets={"API_KEY": "env", "db.password": "file"})
    event = await service.create_event(user, fields)
    assert await keyed_store.variables.delete(user.id, "API_KEY", datetime.now(UTC))
    backend = FakeBackend()
    queued = await service.run_event(user, event.id)

    assert await Worker(keyed_store, backend).run_once()

    ran = await keyed_store.executions.get(queued.id)
    assert ran.status is ExecutionStatus.FAILED
    assert ran.error is not None
    assert "'API_KEY'" in ran.error
    assert "db.password" not in ran.error
    assert VALUE not in ran.error
    assert backend.specs == []
    assert await keyed_store.logs.read(queued.id) == []
