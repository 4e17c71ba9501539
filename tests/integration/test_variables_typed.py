"""Variables over REST with descriptions, expiry, JSON Schemas and secrets, on both databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cronium.api.app import create_app
from cronium.crypto import Keyring, generate_key, parse_key
from cronium.domain.audit import AuditAction
from cronium.domain.user import Role
from cronium.domain.variable import MAX_SCHEMA_BYTES, VariableChange
from cronium.errors import InvalidInputError, NotAvailableError
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.storage.tables import VariableRow
from tests.integration.rest import assert_error

SECRET = "zebra-quartz-7731-do-not-leak"
KEY = parse_key(generate_key(), "test")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def keyed_store(database_url: str) -> AsyncIterator[Store]:
    engine = create_engine(database_url)
    yield Store(engine, Keyring(KEY))
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def rest(keyed_store: Store, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    service = Service(keyed_store, clock=clock)
    _, issued = await service.accounts.create_admin("owner")
    transport = httpx.ASGITransport(app=create_app(service))
    headers = {"Authorization": f"Bearer {issued.secret}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cronium/api/v1", headers=headers
    ) as http:
        yield http


async def put(rest: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await rest.put(f"/variables/{key}", json=body)


async def test_a_variable_keeps_its_description_and_schema_and_lists_with_them(
    rest: httpx.AsyncClient,
) -> None:
    schema = {"type": "object", "properties": {"port": {"type": "integer"}}}
    written = await put(rest, "conf", value={"port": 80}, description="the proxy", schema=schema)
    assert written.status_code == 200, written.text
    read = (await rest.get("/variables/conf")).json()
    assert read["value"] == {"port": 80}
    assert read["description"] == "the proxy"
    assert read["schema"] == schema
    assert read["secret"] is False
    listed = (await rest.get("/variables")).json()
    assert [(v["key"], v["description"]) for v in listed] == [("conf", "the proxy")]
    # a write that leaves them out keeps them
    assert (await put(rest, "conf", value={"port": 81})).status_code == 200
    again = (await rest.get("/variables/conf")).json()
    assert (again["value"], again["description"], again["schema"]) == (
        {"port": 81},
        "the proxy",
        schema,
    )


async def test_a_value_failing_the_stored_schema_is_refused_naming_the_path_and_kept_as_was(
    rest: httpx.AsyncClient,
) -> None:
    schema = {"type": "object", "properties": {"port": {"type": "integer", "maximum": 65535}}}
    assert (await put(rest, "conf", value={"port": 80}, schema=schema)).status_code == 200
    refused = await put(rest, "conf", value={"port": "eighty"})
    assert_error(refused, 422, "$.port", "type")
    too_big = await put(rest, "conf", value={"port": 70000})
    assert_error(too_big, 422, "$.port", "maximum 65535")
    assert (await rest.get("/variables/conf")).json()["value"] == {"port": 80}


async def test_a_new_variable_whose_value_fails_its_own_schema_is_not_written(
    rest: httpx.AsyncClient,
) -> None:
    refused = await put(rest, "n", value="x", schema={"type": "integer"})
    assert_error(refused, 422, "$", "type")
    assert (await rest.get("/variables/n")).status_code == 404


async def test_a_schema_that_is_not_a_json_schema_is_refused_and_nothing_written(
    rest: httpx.AsyncClient,
) -> None:
    refused = await put(rest, "n", value=1, schema={"type": "integr"})
    assert_error(refused, 422, "not a valid JSON Schema", "$.type")
    assert (await rest.get("/variables/n")).status_code == 404
    listed = await put(rest, "m", value=1, schema=["not", "an", "object"])
    assert listed.status_code == 422
    assert (await rest.get("/variables")).json() == []


async def test_a_huge_schema_is_refused_naming_the_limit(rest: httpx.AsyncClient) -> None:
    enum = [f"value-{i:06d}" for i in range(MAX_SCHEMA_BYTES // 10)]
    refused = await put(rest, "n", value="value-000001", schema={"enum": enum})
    assert_error(refused, 422, "keep it under", str(MAX_SCHEMA_BYTES))
    assert (await rest.get("/variables/n")).status_code == 404


async def test_an_overlong_description_is_refused(rest: httpx.AsyncClient) -> None:
    refused = await put(rest, "n", value=1, description="x" * 5000)
    assert refused.status_code == 422
    assert "description" in refused.text
    assert (await rest.get("/variables/n")).status_code == 404


async def test_an_expired_variable_reads_as_missing_and_is_pruned(
    rest: httpx.AsyncClient, keyed_store: Store, clock: Clock
) -> None:
    assert (await put(rest, "short", value=1, expires_in=60)).status_code == 200
    assert (await put(rest, "brief", value=1, expires_in=30)).status_code == 200
    at = (clock.now + timedelta(hours=1)).isoformat()
    assert (await put(rest, "long", value=2, expires_at=at)).status_code == 200
    assert (await put(rest, "always", value=3)).status_code == 200
    assert (await rest.get("/variables/short")).json()["value"] == 1
    clock.now += timedelta(seconds=61)
    assert (await rest.get("/variables/short")).status_code == 404
    assert [v["key"] for v in (await rest.get("/variables")).json()] == ["always", "long"]
    assert (await rest.delete("/variables/short")).status_code == 404  # and it is gone
    owner = (await keyed_store.users.by_name("owner")).id
    assert await keyed_store.variables.all(owner, clock.now) == {"always": 3, "long": 2}
    # pruning deletes the expired rows, in bounded batches
    clock.now += timedelta(hours=2)
    assert await keyed_store.variables.prune_expired(clock.now, batch=1) == 1
    assert await keyed_store.variables.prune_expired(clock.now, batch=1) == 1
    assert await keyed_store.variables.prune_expired(clock.now, batch=1) == 0
    assert [v["key"] for v in (await rest.get("/variables")).json()] == ["always"]


async def test_writing_over_an_expired_variable_starts_afresh(
    rest: httpx.AsyncClient, clock: Clock
) -> None:
    assert (await put(rest, "k", value=1, schema={"type": "integer"}, expires_in=5)).is_success
    clock.now += timedelta(seconds=10)
    assert (await put(rest, "k", value="text now")).status_code == 200
    fresh = (await rest.get("/variables/k")).json()
    assert (fresh["value"], fresh["schema"], fresh["expires_at"]) == ("text now", None, None)


async def test_expires_in_and_expires_at_together_are_refused(rest: httpx.AsyncClient) -> None:
    refused = await put(rest, "k", value=1, expires_in=5, expires_at="2031-01-01T00:00:00Z")
    assert_error(refused, 422, "expires_in", "expires_at")


async def test_a_secret_is_never_listed_or_read_and_is_revealed_to_its_owner_audited(
    rest: httpx.AsyncClient, keyed_store: Store
) -> None:
    written = await put(rest, "token", value=SECRET, secret=True, description="the API token")
    assert written.status_code == 200, written.text
    assert SECRET not in written.text
    listed = (await rest.get("/variables")).json()
    assert listed[0]["key"] == "token"
    assert (listed[0]["value"], listed[0]["secret"]) == (None, True)
    read = await rest.get("/variables/token")
    assert read.json()["value"] is None
    assert SECRET not in read.text
    revealed = await rest.post("/variables/token/reveal")
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["value"] == SECRET
    actions = [entry.action for entry in await keyed_store.audit.find()]
    assert AuditAction.SECRET_WRITE in actions
    assert AuditAction.SECRET_REVEAL in actions
    deleted = await rest.delete("/variables/token")
    assert deleted.status_code == 204
    assert AuditAction.SECRET_DELETE in [entry.action for entry in await keyed_store.audit.find()]


async def test_a_plain_variable_cannot_be_revealed(rest: httpx.AsyncClient) -> None:
    assert (await put(rest, "plain", value=1)).status_code == 200
    assert_error(await rest.post("/variables/plain/reveal"), 422, "not a secret")
    assert (await rest.post("/variables/none/reveal")).status_code == 404


async def test_a_secret_is_stored_only_encrypted_bound_to_its_owner_and_key(
    rest: httpx.AsyncClient, keyed_store: Store
) -> None:
    assert (await put(rest, "token", value={"pw": SECRET}, secret=True)).status_code == 200
    async with keyed_store.db.read() as session:
        row = (await session.execute(VariableRow.__table__.select())).one()
    assert row.value is None
    assert row.ciphertext.startswith(f"v1:{keyed_store.keyring.key_id}:")  # type: ignore[union-attr]
    assert SECRET not in row.ciphertext
    context = f"variable:{row.owner_id}:token"
    assert json.loads(keyed_store.keyring.decrypt(row.ciphertext, context=context)) == {  # type: ignore[union-attr]
        "pw": SECRET
    }
    values = await keyed_store.variables.secret_values(row.owner_id, datetime.now(UTC))
    assert values == {"token": json.dumps({"pw": SECRET})}


async def test_a_secret_can_be_made_plain_again_by_its_owner(rest: httpx.AsyncClient) -> None:
    assert (await put(rest, "k", value="s3", secret=True)).status_code == 200
    assert (await put(rest, "k", value="open", secret=False)).status_code == 200
    read = (await rest.get("/variables/k")).json()
    assert (read["value"], read["secret"]) == ("open", False)


async def test_secret_values_are_the_text_a_script_prints_and_skip_expired_ones(
    keyed_store: Store,
) -> None:
    owner = await keyed_store.users.create("o", role=Role.USER, now=datetime.now(UTC))
    now = datetime.now(UTC)
    for key, value, expires in (
        ("text", "plain words", None),
        ("number", 42, None),
        ("gone", "old", now - timedelta(seconds=1)),
    ):
        change = VariableChange(value=value, secret=True, expires_at=expires)
        await keyed_store.variables.write(owner.id, key, change, now - timedelta(minutes=1))
    await keyed_store.variables.put(owner.id, "visible", "not a secret", now)
    assert await keyed_store.variables.secret_values(owner.id, now) == {
        "text": "plain words",
        "number": "42",
    }


async def test_writing_or_reading_a_secret_without_a_key_is_a_clear_error(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        keyless = Store(engine)
        owner = await keyless.users.create("o", role=Role.USER, now=datetime.now(UTC))
        change = VariableChange(value="x", secret=True)
        with pytest.raises(NotAvailableError, match="no secret key"):
            await keyless.variables.write(owner.id, "k", change, datetime.now(UTC))
        assert await keyless.variables.find(owner.id, "k", datetime.now(UTC)) is None
        keyed = Store(engine, Keyring(KEY))
        await keyed.variables.write(owner.id, "k", change, datetime.now(UTC))
        with pytest.raises(NotAvailableError, match="no secret key"):
            await keyless.variables.secret_values(owner.id, datetime.now(UTC))
    finally:
        await engine.dispose()


async def test_a_value_failing_the_schema_from_storage_names_no_value(keyed_store: Store) -> None:
    owner = await keyed_store.users.create("o", role=Role.USER, now=datetime.now(UTC))
    schema = {"type": "string", "maxLength": 3}
    change = VariableChange(value="abc", secret=True, schema=schema)
    await keyed_store.variables.write(owner.id, "pin", change, datetime.now(UTC))
    with pytest.raises(InvalidInputError) as refused:
        await keyed_store.variables.put(owner.id, "pin", SECRET, datetime.now(UTC))
    assert "maxLength 3" in refused.value.message
    assert SECRET not in refused.value.message
    assert (await keyed_store.variables.get(owner.id, "pin")) == (True, "abc")
