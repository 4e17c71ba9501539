"""Who may call what: every route of the OpenAPI document, for every kind of caller.

Each route has a rule below; a route added without one fails the first test. Callers: the
owner of the objects, an administrator, users the owner shared with as viewer and as
operator, a user whose role is viewer (shared with as viewer), a stranger, the owner with a
read-only token, an administrator whose token lacks the admin scope, and nobody at all.
Allowed calls may still be refused for their content (422, 409), never with 401, 403 or 404;
a caller who cannot see an object gets 404, one who can see it but not do this gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from cronium.accounts import AccountRules
from cronium.api.app import create_app
from cronium.domain.share import ShareRole
from cronium.domain.user import Role, Scope, User
from cronium.service import Service
from cronium.storage import Store
from tests.factories import script_event, unique_name, workflow_event, workflow_graph

AUTHENTICATED = (
    "owner",
    "admin",
    "viewer",
    "operator",
    "reader",
    "stranger",
    "read_token",
    "no_admin",
)
EVERYONE = (*AUTHENTICATED, "anonymous")


@dataclass(frozen=True)
class Rule:
    """The expected answer class per caller: ok, or a status."""

    ok: frozenset[str]
    refused: dict[str, int] = field(default_factory=dict)

    def expect(self, caller: str) -> str | int:
        if caller in self.ok:
            return "ok"
        if caller in self.refused:
            return self.refused[caller]
        return 401 if caller == "anonymous" else 404


def rule(ok: tuple[str, ...], **refused: int | tuple[str, ...]) -> Rule:
    by_caller: dict[str, int] = {}
    for status, callers in refused.items():
        assert isinstance(callers, tuple)
        for caller in callers:
            by_caller[caller] = int(status.removeprefix("s"))
    return Rule(frozenset(ok), by_caller)


OPEN = Rule(frozenset(EVERYONE))  # no credential needed: everyone gets the same answer
SELF = rule(AUTHENTICATED)
READ = rule(("owner", "admin", "viewer", "operator", "reader", "read_token"))
RUN = rule(("owner", "admin", "operator"), s403=("viewer", "reader", "read_token"))
WRITE = rule(("owner", "admin"), s403=("viewer", "operator", "reader", "read_token"))
CREATE = rule(
    ("owner", "admin", "viewer", "operator", "stranger", "no_admin"), s403=("reader", "read_token")
)
ADMIN = rule(
    ("admin",), s403=("owner", "viewer", "operator", "reader", "stranger", "read_token", "no_admin")
)
OWN = rule(("owner", "read_token"))  # the owner's own record (a token, a variable)
OWN_WRITE = rule(("owner",), s403=("read_token", "reader"))
OWN_OR_ADMIN = rule(
    ("owner", "admin", "read_token"), s403=("viewer", "operator", "reader", "stranger", "no_admin")
)
WRITE_OWN_NAMESPACE = rule(
    ("owner", "admin", "viewer", "operator", "stranger", "no_admin"), s403=("reader", "read_token")
)

V1 = "/api/v1"
RULES: dict[tuple[str, str], Rule] = {
    ("POST", f"{V1}/auth/login"): OPEN,
    ("POST", f"{V1}/auth/logout"): OPEN,
    ("GET", f"{V1}/audit"): ADMIN,
    ("POST", f"{V1}/events"): CREATE,
    ("GET", f"{V1}/events"): SELF,
    ("GET", f"{V1}/events/{{event_id}}"): READ,
    ("PATCH", f"{V1}/events/{{event_id}}"): WRITE,
    ("DELETE", f"{V1}/events/{{event_id}}"): WRITE,
    ("GET", f"{V1}/events/{{event_id}}/versions"): READ,
    ("GET", f"{V1}/events/{{event_id}}/versions/{{version}}"): READ,
    ("POST", f"{V1}/events/{{event_id}}/versions/{{version}}/restore"): WRITE,
    ("POST", f"{V1}/events/{{event_id}}/pause"): WRITE,
    ("POST", f"{V1}/events/{{event_id}}/resume"): WRITE,
    ("GET", f"{V1}/events/{{event_id}}/next"): READ,
    ("POST", f"{V1}/events/{{event_id}}/webhook"): WRITE,
    ("DELETE", f"{V1}/events/{{event_id}}/webhook"): WRITE,
    ("POST", f"{V1}/events/{{event_id}}/run"): RUN,
    ("GET", f"{V1}/events/{{event_id}}/shares"): WRITE,
    ("PUT", f"{V1}/events/{{event_id}}/shares"): WRITE,
    ("DELETE", f"{V1}/events/{{event_id}}/shares/{{name}}"): WRITE,
    ("GET", f"{V1}/executions"): SELF,
    ("GET", f"{V1}/executions/latest"): SELF,
    ("GET", f"{V1}/queue"): SELF,
    ("GET", f"{V1}/executions/{{execution_id}}"): READ,
    ("POST", f"{V1}/executions/{{execution_id}}/cancel"): RUN,
    ("GET", f"{V1}/executions/{{execution_id}}/logs"): READ,
    ("GET", f"{V1}/executions/{{execution_id}}/logs/stream"): READ,
    ("GET", f"{V1}/tokens"): SELF,
    ("POST", f"{V1}/tokens"): SELF,
    ("DELETE", f"{V1}/tokens/{{token_id}}"): OWN,
    ("GET", f"{V1}/users/me"): SELF,
    ("PUT", f"{V1}/users/me/password"): SELF,
    ("GET", f"{V1}/users"): ADMIN,
    ("POST", f"{V1}/users"): ADMIN,
    ("GET", f"{V1}/users/{{name}}"): OWN_OR_ADMIN,
    ("PATCH", f"{V1}/users/{{name}}"): ADMIN,
    ("DELETE", f"{V1}/users/{{name}}"): ADMIN,
    ("GET", f"{V1}/variables"): SELF,
    ("GET", f"{V1}/variables/{{key}}"): OWN,
    ("PUT", f"{V1}/variables/{{key}}"): WRITE_OWN_NAMESPACE,
    ("DELETE", f"{V1}/variables/{{key}}"): OWN_WRITE,
    ("POST", f"{V1}/variables/{{key}}/reveal"): OWN_WRITE,
    ("GET", f"{V1}/tools"): SELF,
    ("POST", f"{V1}/tools"): WRITE_OWN_NAMESPACE,
    ("GET", f"{V1}/tools/{{name}}"): OWN,
    ("PUT", f"{V1}/tools/{{name}}"): OWN_WRITE,
    ("DELETE", f"{V1}/tools/{{name}}"): OWN_WRITE,
    ("POST", f"{V1}/tools/{{name}}/test"): OWN_WRITE,
    ("GET", f"{V1}/deliveries"): SELF,
    ("GET", f"{V1}/executions/{{execution_id}}/deliveries"): READ,
    ("GET", f"{V1}/workers"): ADMIN,
    ("GET", f"{V1}/workflows"): SELF,
    ("POST", f"{V1}/workflows"): CREATE,
    ("GET", f"{V1}/workflows/{{workflow_id}}"): READ,
    ("DELETE", f"{V1}/workflows/{{workflow_id}}"): WRITE,
    ("POST", f"{V1}/workflows/{{workflow_id}}/run"): RUN,
    ("GET", f"{V1}/workflows/{{workflow_id}}/runs"): READ,
    ("GET", f"{V1}/workflows/runs/{{run_id}}"): READ,
    ("POST", f"{V1}/workflows/runs/{{run_id}}/cancel"): RUN,
    ("GET", f"{V1}/workflows/runs/{{run_id}}/stream"): READ,
    ("GET", f"{V1}/workflows/{{workflow_id}}/export"): READ,
    ("POST", f"{V1}/workflows/import"): CREATE,
    ("POST", f"{V1}/schedules/next"): SELF,
    ("GET", f"{V1}/schedules/upcoming"): SELF,
    ("POST", f"{V1}/hooks/{{key}}"): OPEN,
    ("GET", "/healthz"): OPEN,
    ("GET", "/readyz"): OPEN,
    ("GET", "/metrics"): OPEN,  # scraped without a token, like the probes
}


@pytest.fixture
def service(store: Store) -> Service:
    """The service, with a login back-off that the many failed logins here never reach."""
    return Service(store, rules=AccountRules(login_attempts=1000))


@dataclass
class World:
    """One owner's objects and the callers around them."""

    names: dict[str, str]
    tokens: dict[str, str]
    event_id: int
    workflow_id: int
    execution_id: int
    run_id: int
    token_id: int
    document: str


async def _user(service: Service, role: Role) -> User:
    return await service.accounts.create_user(None, unique_name("user"), role, None)


async def make_world(service: Service, http: httpx.AsyncClient) -> World:
    accounts = service.accounts
    admin = await _user(service, Role.ADMIN)
    owner, viewer, operator, stranger = [await _user(service, Role.USER) for _ in range(4)]
    reader = await _user(service, Role.VIEWER)
    event = await service.create_event(owner, script_event())
    workflow = await service.create_event(owner, workflow_event(workflow_graph({"only": event.id})))
    for target in (event.id, workflow.id):
        await service.sharing.share(owner, target, viewer.name, ShareRole.VIEWER)
        await service.sharing.share(owner, target, operator.name, ShareRole.OPERATOR)
        await service.sharing.share(owner, target, reader.name, ShareRole.VIEWER)
    execution = await service.run_event(owner, event.id)
    run = await service.run_event(owner, workflow.id)
    users = {"owner": owner, "admin": admin, "viewer": viewer, "operator": operator}
    users |= {"reader": reader, "stranger": stranger}
    tokens = {}
    for caller, user in users.items():
        tokens[caller] = (await accounts.issue_token(user, name="t", expires_in=None)).secret
    owner_token = await accounts.issue_token(owner, name="kept", expires_in=None)
    read_only = frozenset({Scope.READ})
    tokens["read_token"] = (
        await accounts.issue_token(owner, name="r", expires_in=None, scopes=read_only)
    ).secret
    no_admin = frozenset({Scope.READ, Scope.RUN, Scope.WRITE})
    tokens["no_admin"] = (
        await accounts.issue_token(admin, name="n", expires_in=None, scopes=no_admin)
    ).secret
    # a webhook tool named as its owner (the routes' {name}); its address is refused (loopback)
    hook = {"url": "http://127.0.0.1:9/hook"}
    await service.tools.add(owner, owner.name, "webhook", hook)
    put = await http.put(
        f"{V1}/variables/k",
        json={"value": 1},
        headers={"Authorization": f"Bearer {tokens['owner']}"},
    )
    assert put.status_code == 200, put.text
    exported = await http.get(
        f"{V1}/workflows/{workflow.id}/export",
        headers={"Authorization": f"Bearer {tokens['owner']}"},
    )
    assert exported.status_code == 200, exported.text
    return World(
        names={caller: user.name for caller, user in users.items()},
        tokens=tokens,
        event_id=event.id,
        workflow_id=workflow.id,
        execution_id=execution.id,
        run_id=run.id,
        token_id=owner_token.token.id,
        document=exported.text,
    )


async def _end_runs(service: Service, world: World) -> None:
    """A live stream lasts as long as what it follows: end the world's runs (no worker here)."""
    for execution_id in (world.execution_id, world.run_id):
        await service.store.queue.cancel(execution_id, service.clock())


def _request(world: World, method: str, path: str) -> dict[str, Any]:
    """The URL and body of a call of the route on the world's objects."""
    url = path.format(
        event_id=world.workflow_id if "workflow" in path else world.event_id,
        workflow_id=world.workflow_id,
        version=1,
        name=world.names["viewer"] if "/shares/" in path else world.names["owner"],
        execution_id=world.execution_id,
        run_id=world.run_id,
        token_id=world.token_id,
        key="whk_nothing" if "/hooks/" in path else "k",
    )
    bodies: dict[tuple[str, str], Any] = {
        ("POST", f"{V1}/auth/login"): {"name": world.names["owner"], "password": "not it at all"},
        ("POST", f"{V1}/events"): {"name": unique_name(), "language": "bash", "script": "true"},
        ("PATCH", f"{V1}/events/{{event_id}}"): {"script": "echo changed"},
        ("POST", f"{V1}/events/{{event_id}}/run"): {"input": 1},
        ("PUT", f"{V1}/events/{{event_id}}/shares"): {
            "user": world.names["stranger"],
            "role": "viewer",
        },
        ("POST", f"{V1}/tokens"): {"name": "another"},
        ("PUT", f"{V1}/users/me/password"): {"password": "a long enough phrase"},
        ("POST", f"{V1}/users"): {"name": unique_name("new"), "role": "user"},
        ("PATCH", f"{V1}/users/{{name}}"): {"role": "viewer"},
        ("PUT", f"{V1}/variables/{{key}}"): {"value": 2},
        ("POST", f"{V1}/tools"): {
            "name": unique_name("tool"),
            "kind": "slack",
            "credentials": {"webhook_url": "https://hooks.example.com/x"},
        },
        ("PUT", f"{V1}/tools/{{name}}"): {"credentials": {"url": "http://127.0.0.1:9/other"}},
        ("POST", f"{V1}/workflows"): {
            "name": unique_name(),
            "workflow": {"nodes": [{"name": "a", "event_id": world.event_id}], "edges": []},
        },
        ("POST", f"{V1}/workflows/{{workflow_id}}/run"): {"input": 1},
        ("POST", f"{V1}/schedules/next"): {"schedule": {"every_seconds": 60}},
        ("POST", f"{V1}/hooks/{{key}}"): {},
    }
    if (method, path) == ("POST", f"{V1}/workflows/import"):
        return {"url": url, "content": world.document.replace("name:", "name: x", 0)}
    body = bodies.get((method, path))
    return {"url": url, "json": body} if body is not None else {"url": url}


def _routes(service: Service) -> list[tuple[str, str]]:
    paths = create_app(service).openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


async def test_every_route_has_a_rule(service: Service) -> None:
    routes = set(_routes(service))
    assert routes - set(RULES) == set(), "routes without a rule: add them to RULES"
    assert set(RULES) - routes == set(), "rules of routes that are gone"


async def test_every_caller_gets_what_the_rules_say(service: Service) -> None:
    transport = httpx.ASGITransport(app=create_app(service))
    problems = []
    opened: dict[str, int] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://cronium") as http:
        for method, path in _routes(service):
            expected_by_caller = RULES[(method, path)]
            world = None
            for caller in EVERYONE:
                if world is None or method != "GET":
                    world = await make_world(service, http)  # writes change the world
                    if path.endswith("/stream"):
                        await _end_runs(service, world)
                call = _request(world, method, path)
                headers = {}
                if caller != "anonymous":
                    headers["Authorization"] = f"Bearer {world.tokens[caller]}"
                answer = await http.request(method, headers=headers, **call)
                expected = expected_by_caller.expect(caller)
                got: str | int = answer.status_code
                if expected_by_caller is OPEN:  # the same answer whoever asks
                    expected = opened.setdefault(path, answer.status_code)
                    expected = 500 if expected >= 500 else expected
                elif answer.status_code < 500 and answer.status_code not in (401, 403, 404):
                    got = "ok"
                if got != expected:
                    problems.append(
                        f"{method} {path} as {caller}: expected {expected}, got "
                        f"{answer.status_code} {answer.text[:200]}"
                    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("caller", ["stranger", "reader", "viewer"])
async def test_lists_hold_only_what_the_caller_may_see(service: Service, caller: str) -> None:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://cronium") as http:
        world = await make_world(service, http)
        headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
        events = {e["id"] for e in (await http.get(f"{V1}/events", headers=headers)).json()}
        runs = {e["id"] for e in (await http.get(f"{V1}/executions", headers=headers)).json()}
        variables = (await http.get(f"{V1}/variables", headers=headers)).json()
    shared = caller != "stranger"
    assert (world.event_id in events) is shared
    assert (world.workflow_id in events) is shared
    assert (world.execution_id in runs) is shared
    assert "k" not in str(variables)


async def test_an_event_says_what_each_caller_may_do_with_it(service: Service) -> None:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://cronium") as http:
        world = await make_world(service, http)
        may = {}
        for caller in ("owner", "admin", "operator", "viewer", "reader", "read_token"):
            headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
            answer = await http.get(f"{V1}/events/{world.event_id}", headers=headers)
            may[caller] = answer.json()["may"]
    assert may == {
        "owner": ["read", "run", "write"],
        "admin": ["read", "run", "write"],
        "operator": ["read", "run"],
        "viewer": ["read"],
        "reader": ["read"],  # a viewer's role: an operator share would not let it run either
        "read_token": ["read"],  # the owner's, with the read scope only
    }
