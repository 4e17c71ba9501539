"""The runtime API's HTTP application (Starlette): envelopes, auth, limits, endpoints.

Every answer is ``{"success": true, "data": ...}`` or
``{"success": false, "error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cronium.api.statuses import status_of
from cronium.delivery import Sender
from cronium.domain.action import ToolCall
from cronium.domain.audit import AuditAction
from cronium.domain.delivery import DeliverySource, DeliveryStatus
from cronium.domain.variable import VariableChange, check_key
from cronium.errors import (
    AuthenticationError,
    CroniumError,
    DeliveryFailedError,
    InvalidInputError,
    LeaseLostError,
    NotAvailableError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
)
from cronium.metrics import RUNTIME_REQUESTS, RUNTIME_SECONDS
from cronium.runtime.registry import ActiveExecution, Registry
from cronium.runtime.tokens import ExecutionClaims, TokenIssuer
from cronium.storage import Store
from cronium.storage.variables import Writer, context_of

_CONVERTOR = re.compile(r":\w+}")  # a path parameter's type, as in {execution_id:int}


@dataclass(frozen=True, slots=True)
class RuntimeLimits:
    max_payload_bytes: int = 10 * 1024 * 1024
    calls_per_minute: int = 1000


class RateLimiter:
    """Calls per execution in the current minute (fixed windows)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[int, tuple[int, int]] = {}

    def check(self, execution_id: int, now: float) -> None:
        window = int(now // 60)
        if len(self._windows) > 4096:  # forget the minutes that have passed
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        start, count = self._windows.get(execution_id, (window, 0))
        count = count + 1 if start == window else 1
        self._windows[execution_id] = (window, count)
        if count > self.per_minute:
            raise RateLimitedError(
                f"more than {self.per_minute} runtime API calls in a minute from execution "
                f"{execution_id} (CRONIUM_RUNTIME_RATE_LIMIT); slow down"
            )


def ok(data: Any = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status)


def failure(exc: CroniumError) -> JSONResponse:
    status, code = status_of(exc)
    body = {"success": False, "error": {"code": code, "message": exc.message}}
    return JSONResponse(body, status_code=status)


Handler = Callable[[Request, ActiveExecution], Awaitable[Response]]


class RuntimeApi:
    """The endpoints, over the store, the token issuer and the registry of running executions."""

    def __init__(
        self,
        store: Store,
        issuer: TokenIssuer,
        registry: Registry,
        limits: RuntimeLimits,
        sender: Sender | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.issuer = issuer
        self.registry = registry
        self.limits = limits
        self.rate = RateLimiter(limits.calls_per_minute)

    def app(self) -> Starlette:
        route = self._route
        routes = [
            route("/executions/{execution_id:int}/input", self.get_input),
            route("/executions/{execution_id:int}/output", self.post_output, ["POST"]),
            route("/executions/{execution_id:int}/variables", self.list_variables),
            route(
                "/executions/{execution_id:int}/variables/{key:str}",
                self.variable,
                ["GET", "PUT", "DELETE"],
            ),
            route("/executions/{execution_id:int}/condition", self.condition, ["GET", "POST"]),
            route("/executions/{execution_id:int}/context", self.context),
            route("/tool-actions/execute", self.tool_action, ["POST"]),
        ]
        return Starlette(routes=routes)

    def _route(self, path: str, handler: Handler, methods: list[str] | None = None) -> Route:
        """The route of ``handler``, counted in the metrics by its template (``{key}``, no
        execution id)."""
        return Route(
            path, self._counted(_CONVERTOR.sub("}", path), self._guard(handler)), methods=methods
        )

    @staticmethod
    def _counted(
        template: str, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def counted(request: Request) -> Response:
            started = time.monotonic()
            response = await endpoint(request)
            called = f"{request.method} {template}"
            RUNTIME_SECONDS.labels(called).observe(time.monotonic() - started)
            RUNTIME_REQUESTS.labels(called, f"{response.status_code // 100}xx").inc()
            return response

        return counted

    def _guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                active = self.authorize(request)
                return await handler(request, active)
            except LeaseLostError as exc:
                # the worker lost this execution (failed as lost, or run again elsewhere)
                self.registry.remove(exc.execution_id)
                return failure(AuthenticationError(f"{exc.message}: its token is no longer valid"))
            except CroniumError as exc:
                return failure(exc)

        return endpoint

    def authorize(self, request: Request) -> ActiveExecution:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError(
                "no execution token: send 'Authorization: Bearer <the content of"
                " $CRONIUM_EXECUTION_TOKEN_FILE>'"
            )
        claims: ExecutionClaims = self.issuer.verify(token)
        active = self.registry.get(claims.execution_id)
        if active is None:
            raise AuthenticationError(
                f"execution {claims.execution_id} has ended: its token is no longer valid"
            )
        caller = (request.scope.get("extensions") or {}).get("cronium.peer_uid", {}).get("uid")
        if (
            active.uid is not None
            and caller is not None
            and caller not in (active.uid, os.geteuid())
        ):
            raise AuthenticationError(
                f"execution {claims.execution_id}'s token is used from uid {caller}, not the"
                " run's own: refused"
            )
        asked = request.path_params.get("execution_id", claims.execution_id)
        if asked != claims.execution_id:
            raise PermissionDeniedError(
                f"this token belongs to execution {claims.execution_id}, not {asked}"
            )
        self.rate.check(claims.execution_id, time.monotonic())
        return active

    async def read_json(self, request: Request) -> Any:
        limit = self.limits.max_payload_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLargeError(_too_large(int(declared), limit))
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise PayloadTooLargeError(_too_large(len(body), limit))
        try:
            return json.loads(body, parse_float=_finite_number, parse_constant=_not_a_number)
        except ValueError as exc:
            raise InvalidInputError(f"the request body is not valid JSON: {exc}") from exc

    async def field(self, request: Request, name: str) -> Any:
        body = await self.read_json(request)
        if not isinstance(body, dict) or name not in body:
            raise InvalidInputError(f'the request body must be a JSON object with "{name}"')
        return body[name]

    async def get_input(self, request: Request, active: ActiveExecution) -> Response:
        return ok(active.input)

    async def post_output(self, request: Request, active: ActiveExecution) -> Response:
        self.registry.set_output(active.execution_id, await self.field(request, "data"))
        return ok(None)

    async def list_variables(self, request: Request, active: ActiveExecution) -> Response:
        """The owner's plain variables by key; secrets are read one by one (audited)."""
        return ok(await self.store.variables.all(active.owner_id, datetime.now(UTC)))

    async def variable(self, request: Request, active: ActiveExecution) -> Response:
        key = check_key(request.path_params["key"])
        now = datetime.now(UTC)
        writer = Writer(user_id=active.owner_id, execution_id=active.execution_id)
        if request.method == "GET":
            return ok(await self.read_variable(active, key, now))
        if request.method == "PUT":
            change = VariableChange(value=await self.field(request, "value"))
            await self.store.variables.write(
                active.owner_id, key, change, now, writer=writer, held_by=active.held_by
            )
            return ok(None)
        if not await self.store.variables.delete(
            active.owner_id, key, now, writer=writer, held_by=active.held_by
        ):
            raise NotFoundError(f"variable {key!r} is not set")
        return ok(None)

    async def read_variable(self, active: ActiveExecution, key: str, now: datetime) -> Any:
        """A variable's value; a secret's decrypted, and the read audited."""
        found = await self.store.variables.find(active.owner_id, key, now, reveal=True)
        if found is None:
            raise NotFoundError(f"variable {key!r} is not set")
        if found.secret:
            await self.store.audit.record(
                AuditAction.SECRET_READ,
                at=now,
                actor_id=active.owner_id,
                target=context_of(active.owner_id, key),
                execution_id=active.execution_id,
            )
        return found.value

    async def condition(self, request: Request, active: ActiveExecution) -> Response:
        if request.method == "GET":
            return ok(self.registry.results(active.execution_id).condition)
        condition = await self.field(request, "condition")
        if not isinstance(condition, bool):
            raise InvalidInputError('"condition" must be true or false')
        self.registry.set_condition(active.execution_id, condition)
        return ok(None)

    async def context(self, request: Request, active: ActiveExecution) -> Response:
        return ok(active.context())

    async def tool_action(self, request: Request, active: ActiveExecution) -> Response:
        """Send a message through one of the owner's tools, now; the delivery once sent, 502
        with the reason if it could not be (after its retries)."""
        call = _tool_call(await self.read_json(request))
        if self.sender is None:
            raise NotAvailableError("tool actions are not available in this runtime API")
        delivery = await self.sender.send_now(
            active.owner_id, call, DeliverySource.SCRIPT, execution_id=active.execution_id
        )
        answer = {
            "delivery_id": delivery.id,
            "status": str(delivery.status),
            "tool": delivery.tool,
            "action": delivery.action,
            "target": delivery.target,
            "code": delivery.code,
            "reply": delivery.reply,
            "attempts": delivery.attempts,
        }
        if delivery.status is not DeliveryStatus.SENT:
            reason = delivery.error or f"the service answered {delivery.code}: {delivery.reply}"
            raise DeliveryFailedError(
                f"the message through tool {delivery.tool!r} was not delivered after "
                f"{delivery.attempts} attempt(s): {reason} (delivery {delivery.id})"
            )
        return ok(answer)


def _tool_call(body: Any) -> ToolCall:
    """The call a script's body asks for: ``tool``, ``action`` and ``params`` (or Cronium's
    ``config``)."""
    if not isinstance(body, dict):
        raise InvalidInputError('the request body must be a JSON object with "tool" and "action"')
    for name in ("tool", "action"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise InvalidInputError(f'"{name}" must be a non-empty string')
    params = body.get("params", body.get("config"))
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInputError('"params" must be a JSON object')
    return ToolCall(body["tool"][:64], body["action"][:64], params)


def _finite_number(text: str) -> float:
    """A JSON number with a fraction or an exponent, refused if no double holds it (1e400):
    stored as an infinity, it could not be written as JSON again."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is too large: no double holds it")
    return number


def _not_a_number(name: str) -> NoReturn:
    """Python reads NaN and Infinity as numbers; JSON has no such values."""
    raise ValueError(f"{name} is not a JSON number")


def _too_large(size: int, limit: int) -> str:
    return (
        f"the request body ({size} bytes) exceeds the limit of {limit} bytes "
        "(CRONIUM_RUNTIME_MAX_PAYLOAD)"
    )
