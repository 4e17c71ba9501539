"""Bounded requests, before any route sees them: who asks, how big, how deep.

:class:`BoundedRequests` is pure ASGI middleware. A request with a body is authenticated first
(when a route needs it), so nobody unknown gets a byte read; then its body is read in chunks,
refused with 413 as soon as it passes the cap (whether or not it said its length), and a JSON
body nested deeper than the cap is refused with 422 before anything parses it. What passes is
handed to the application as it came.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cronium.api.statuses import status_of
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH, json_depth_error
from cronium.errors import CroniumError, PayloadTooLargeError

REST_MAX_BODY = 8 * 1024 * 1024  # a workflow document (4 MiB) or a 1 MiB script, escaped
WEBHOOK_MAX_BODY = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

Refuse = Callable[[int, str, str], dict[str, Any]]
Authenticate = Callable[[Scope], Awaitable[Any]]


def rest_refusal(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}


@dataclass(frozen=True)
class Bounds:
    """The caps of one application's requests."""

    max_body: int = REST_MAX_BODY
    max_depth: int = DEFAULT_MAX_DEPTH
    # paths (prefixes) and their own caps, e.g. webhooks
    body_caps: tuple[tuple[str, int], ...] = ()
    # paths (prefixes) whose bodies need no authentication first (webhooks: their key is)
    open_paths: tuple[str, ...] = ()


class BoundedRequests:
    """See the module's docstring. ``authenticate`` checks the request's credentials (raising
    AuthenticationError) for the paths under ``protected``; ``refuse`` shapes error bodies."""

    def __init__(
        self,
        app: ASGIApp,
        bounds: Bounds,
        *,
        protected: str = "",
        authenticate: Authenticate | None = None,
        refuse: Refuse = rest_refusal,
    ) -> None:
        self.app = app
        self.bounds = bounds
        self.protected = protected
        self.authenticate = authenticate
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {key.lower(): value for key, value in scope["headers"]}
        try:
            await self._authenticate(path, scope)
            body = await self._read(receive, self._cap(path), headers)
        except CroniumError as exc:  # unauthenticated, too large, or the database away
            status, code = status_of(exc)
            await self._answer(send, status, code, exc.message)
            return
        if body and b"json" in headers.get(b"content-type", b"json"):
            problem = json_depth_error(body, self.bounds.max_depth)
            if problem is not None:
                await self._answer(send, 422, "invalid_input", problem)
                return
        await self.app(scope, _replay(body, receive), send)

    def _cap(self, path: str) -> int:
        for prefix, cap in self.bounds.body_caps:
            if path.startswith(prefix):
                return cap
        return self.bounds.max_body

    async def _authenticate(self, path: str, scope: Scope) -> None:
        if self.authenticate is None or not path.startswith(self.protected):
            return
        if any(path.startswith(prefix) for prefix in self.bounds.open_paths):
            return
        user = await self.authenticate(scope)
        scope.setdefault("state", {})["cronium_user"] = user  # the route need not ask again

    async def _read(self, receive: Receive, cap: int, headers: dict[bytes, bytes]) -> bytes:
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(cap)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise _too_large(cap)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _answer(self, send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps(self.refuse(status, code, message)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        # the rest of the body is not read: the connection closes after this answer
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _too_large(cap: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the request body exceeds {cap} bytes: send less")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
