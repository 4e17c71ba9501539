"""Accounts over REST: passwords, browser sessions with CSRF, login back-off, disabling,
token scopes within roles, and what the audit log records of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cronium.accounts import AccountRules
from cronium.api.app import create_app
from cronium.domain.user import Role, Scope
from cronium.service import Service
from cronium.storage import Store
from tests.clock import FakeClock
from tests.factories import event_body
from tests.integration.rest import assert_error

PASSWORD = "four words make a password"
V1 = "/api/v1"


# near the real time: the client's cookie jar drops cookies whose expiry has passed
START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def service(store: Store, clock: FakeClock) -> Service:
    rules = AccountRules(
        session_idle=timedelta(hours=1), session_max=timedelta(hours=3), login_attempts=3
    )
    return Service(store, clock=clock, rules=rules)


@pytest.fixture
async def http(service: Service) -> Any:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://cronium.test") as client:
        yield client


async def _admin_token(service: Service) -> dict[str, str]:
    _, issued = await service.accounts.create_admin("root")
    return {"Authorization": f"Bearer {issued.secret}"}


async def _login(http: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post(f"{V1}/auth/login", json={"name": name, "password": password})


async def test_an_admin_creates_a_user_who_logs_in_with_a_session_cookie(
    service: Service, http: httpx.AsyncClient
) -> None:
    admin = await _admin_token(service)
    made = await http.post(
        f"{V1}/users", json={"name": "ann", "role": "user", "password": PASSWORD}, headers=admin
    )
    assert made.status_code == 201, made.text
    assert made.json()["has_password"] is True
    logged = await _login(http, "ann")
    assert logged.status_code == 200, logged.text
    cookies = logged.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("cronium_session="))
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
        assert attribute in session
    assert any(c.startswith("cronium_csrf=") and "HttpOnly" not in c for c in cookies)
    csrf = logged.json()["csrf_token"]
    # the cookie alone reads
    me = await http.get(f"{V1}/users/me")
    assert me.status_code == 200
    assert me.json()["name"] == "ann"
    # a write with the cookie but without the CSRF token is refused, and writes nothing
    body = {"name": "job", "language": "bash", "script": "true"}
    refused = await http.post(f"{V1}/events", json=body)
    assert_error(refused, 403, "CSRF", "X-CSRF-Token")
    assert (await http.get(f"{V1}/events")).json() == []
    wrong = await http.post(f"{V1}/events", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    made_event = await http.post(f"{V1}/events", json=body, headers={"X-CSRF-Token": csrf})
    assert made_event.status_code == 201, made_event.text
    # logging out ends the session on the server, not only in the browser
    cookie = http.cookies["cronium_session"]
    assert (await http.post(f"{V1}/auth/logout")).status_code == 204
    http.cookies.set("cronium_session", cookie)
    assert_error(await http.get(f"{V1}/users/me"), 401, "session has ended")


async def test_sessions_lapse_when_idle_and_at_their_longest(
    service: Service, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await service.accounts.create_user(None, "bo", Role.USER, PASSWORD)
    assert (await _login(http, "bo")).status_code == 200
    for _ in range(5):  # kept alive by use: 50 minutes apart, past the 3 hours in all
        clock.advance(minutes=50)
        if clock.now - START >= timedelta(hours=3):
            break
        assert (await http.get(f"{V1}/users/me")).status_code == 200
    assert_error(await http.get(f"{V1}/users/me"), 401, "expired")
    assert (await _login(http, "bo")).status_code == 200
    clock.advance(minutes=61)
    assert_error(await http.get(f"{V1}/users/me"), 401, "expired")


async def test_failed_logins_back_off_per_account_and_per_address(
    service: Service, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await service.accounts.create_user(None, "cy", Role.USER, PASSWORD)
    for _ in range(3):
        assert_error(await _login(http, "cy", "not the password"), 401, "name or the password")
    blocked = await _login(http, "cy")  # even the right password waits
    assert_error(blocked, 429, "too many failed logins")
    assert blocked.headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert_error(await _login(http, "cy", "still wrong"), 401)
    again = await _login(http, "cy")
    assert_error(again, 429)
    assert again.headers["Retry-After"] == "2"  # doubling
    clock.advance(seconds=2)
    assert (await _login(http, "cy")).status_code == 200
    # an unknown name counts too (against the address as well): no way to probe names;
    # the address's earlier failures are forgotten after a quiet quarter of an hour
    clock.advance(minutes=16)
    for _ in range(3):
        assert_error(await _login(http, "nobody-here", "x" * 12), 401, "name or the password")
    assert_error(await _login(http, "nobody-else", "x" * 12), 429)
    failures = await service.store.audit.find(action="auth.login_failed")
    assert {entry.actor for entry in failures} >= {"cy", "nobody-here"}


async def test_a_disabled_user_is_locked_out_at_once(
    service: Service, http: httpx.AsyncClient
) -> None:
    admin = await _admin_token(service)
    dee = await service.accounts.create_user(None, "dee", Role.USER, PASSWORD)
    token = (await service.accounts.issue_token(dee, name="t", expires_in=None)).secret
    assert (await _login(http, "dee")).status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await http.get(f"{V1}/events", headers=bearer)).status_code == 200
    disabled = await http.patch(f"{V1}/users/dee", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert_error(await http.get(f"{V1}/events", headers=bearer), 401, "disabled")
    assert_error(await http.get(f"{V1}/users/me"), 401)  # the session cookie
    assert_error(await _login(http, "dee"), 401, "disabled")
    enabled = await http.patch(f"{V1}/users/dee", json={"disabled": False}, headers=admin)
    assert enabled.status_code == 200
    assert (await http.get(f"{V1}/events", headers=bearer)).status_code == 200


async def test_a_token_never_has_more_than_its_role_or_its_maker(
    service: Service, http: httpx.AsyncClient
) -> None:
    viewer = await service.accounts.create_user(None, "vi", Role.VIEWER, None)
    token = (await service.accounts.issue_token(viewer, name="t", expires_in=None)).secret
    bearer = {"Authorization": f"Bearer {token}"}
    listed = (await http.get(f"{V1}/tokens", headers=bearer)).json()
    assert listed[0]["scopes"] == ["read"]
    beyond = await http.post(f"{V1}/tokens", json={"name": "x", "scopes": ["run"]}, headers=bearer)
    assert_error(beyond, 422, "run", "beyond", "viewer")
    user = await service.accounts.create_user(None, "us", Role.USER, None)
    reader = await service.accounts.issue_token(
        user, name="r", expires_in=None, scopes=frozenset({Scope.READ})
    )
    read_only = {"Authorization": f"Bearer {reader.secret}"}
    escalate = await http.post(
        f"{V1}/tokens", json={"name": "y", "scopes": ["write"]}, headers=read_only
    )
    assert_error(escalate, 422, "write", "beyond")
    create = await http.post(
        f"{V1}/events", json={"name": "e", "language": "bash", "script": "true"}, headers=read_only
    )
    assert_error(create, 403, "scopes are read", "'write' scope")
    # a role lowered later lowers every token at once
    full = (await service.accounts.issue_token(user, name="f", expires_in=None)).secret
    await service.accounts.set_role(None, "us", Role.VIEWER)
    create = await http.post(
        f"{V1}/events",
        json={"name": "e", "language": "bash", "script": "true"},
        headers={"Authorization": f"Bearer {full}"},
    )
    assert_error(create, 403, "role is viewer")


async def test_bad_account_input_says_what_to_fix(
    service: Service, http: httpx.AsyncClient
) -> None:
    admin = await _admin_token(service)

    async def create(body: dict[str, Any]) -> httpx.Response:
        return await http.post(f"{V1}/users", json=body, headers=admin)

    assert_error(await create({"name": "w", "password": "short"}), 422, "at least 10")
    assert_error(await create({"name": "w", "password": "aaaaaaaaaaaa"}), 422, "too easy")
    assert_error(await create({"name": "w", "role": "boss"}), 422, "role")
    assert_error(await create({"name": "bad name!"}), 422, "name")
    assert (await http.get(f"{V1}/users", headers=admin)).json()[-1]["name"] == "root"
    share = await http.post(
        f"{V1}/events", json={"name": "e", "language": "bash", "script": "true"}, headers=admin
    )
    event_id = share.json()["id"]
    unknown = await http.put(
        f"{V1}/events/{event_id}/shares", json={"user": "ghost", "role": "viewer"}, headers=admin
    )
    assert_error(unknown, 422, "no user is named 'ghost'")
    await service.accounts.create_user(None, "looker", Role.VIEWER, None)
    operator = await http.put(
        f"{V1}/events/{event_id}/shares", json={"user": "looker", "role": "operator"}, headers=admin
    )
    assert_error(operator, 422, "viewer", "share as viewer")
    last_admin = await http.patch(f"{V1}/users/root", json={"role": "user"}, headers=admin)
    assert_error(last_admin, 409, "no enabled administrator")


async def test_the_audit_log_records_and_filters_for_admins(
    service: Service, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    admin = await _admin_token(service)
    await http.post(f"{V1}/users", json={"name": "eve", "password": PASSWORD}, headers=admin)
    await _login(http, "eve", "wrong password here")
    await _login(http, "eve")
    await http.patch(f"{V1}/users/eve", json={"role": "viewer"}, headers=admin)
    entries = (await http.get(f"{V1}/audit", headers=admin)).json()
    actions = [entry["action"] for entry in entries]
    for action in ("user.create", "auth.login_failed", "auth.login", "user.set_role"):
        assert action in actions
    assert "token.create" in actions  # the admin's first token
    only = (await http.get(f"{V1}/audit", params={"user": "eve"}, headers=admin)).json()
    assert {entry["action"] for entry in only} == {"auth.login_failed", "auth.login"}
    assert all(entry["address"] for entry in only)
    logins = await http.get(f"{V1}/audit", params={"action": "auth.login"}, headers=admin)
    assert [entry["actor"] for entry in logins.json()] == ["eve"]
    unknown = await http.get(f"{V1}/audit", params={"action": "nonsense"}, headers=admin)
    assert_error(unknown, 422, "action", "'auth.login'", "'event.change'")  # what it may be
    clock.advance(days=91)
    await service.store.audit.record("auth.login", at=clock.now, actor="late")
    before = len(await service.store.audit.find(limit=1000))
    pruned = await service.audit.prune(timedelta(days=90))
    assert pruned == before - 1
    left = (await http.get(f"{V1}/audit", headers=admin)).json()
    assert [entry["actor"] for entry in left][-1] == "late"


async def test_changes_of_events_and_their_webhooks_are_recorded(
    service: Service, http: httpx.AsyncClient
) -> None:
    admin = await _admin_token(service)
    made = await http.post(f"{V1}/events", json=event_body(name="job"), headers=admin)
    event = made.json()
    url = f"{V1}/events/{event['id']}"
    await http.patch(url, json={"script": "echo changed", "timeout_seconds": 5}, headers=admin)
    await http.post(f"{url}/versions/1/restore", headers=admin)
    hook = await http.post(f"{url}/webhook", headers=admin)
    await http.delete(f"{url}/webhook", headers=admin)
    await http.delete(url, headers=admin)
    entries = await service.store.audit.find(limit=100)
    about = [e for e in reversed(entries) if e.target == f"event {event['id']}"]
    assert [e.action for e in about] == [
        "event.create",
        "event.change",
        "event.restore",
        "webhook.create",
        "webhook.delete",
        "event.delete",
    ]
    assert about[0].detail == {"name": "job", "kind": "script"}
    assert about[1].detail == {
        "name": "job",
        "kind": "script",
        "fields": ["script", "timeout_seconds"],
    }
    assert about[2].detail["restored_from"] == 1
    assert hook.json()["url"].rsplit("/", 1)[-1] not in str([e.detail for e in about])
