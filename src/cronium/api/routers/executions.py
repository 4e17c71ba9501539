"""Executions: one run of an event, with its result and its log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Query, Response, WebSocket
from fastapi.responses import StreamingResponse
from starlette.datastructures import Headers
from starlette.websockets import WebSocketDisconnect

from cronium.api.auth import authenticator
from cronium.api.deps import MAX_ID, MAX_SEQ, Id, ServiceDep, UserDep
from cronium.api.errors import error_response
from cronium.api.log_schemas import (
    HAS_MORE_HEADER,
    KEEPALIVE,
    NEXT_AFTER_HEADER,
    SSE_HEADERS,
    SSE_MEDIA_TYPE,
    end_message,
    line_message,
    sse,
    ws,
)
from cronium.api.schemas import ErrorBody, ExecutionPublic, LogLinePublic, QueuePublic
from cronium.api.statuses import status_of
from cronium.domain.execution import ExecutionStatus
from cronium.domain.user import User
from cronium.errors import CroniumError, PermissionDeniedError
from cronium.follow import Idle, LogEnd, Message
from cronium.service import Service

MAX_PAGE = 100_000
AfterSeq = Annotated[
    int | None,
    Query(ge=-1, le=MAX_SEQ, description="Only lines after this sequence number."),
]

router = APIRouter(
    prefix="/executions",
    tags=["executions"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.get("")
async def list_executions(
    user: UserDep,
    service: ServiceDep,
    event_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this event's executions.")
    ] = None,
    status: Annotated[
        list[ExecutionStatus] | None,
        Query(max_length=len(ExecutionStatus), description="Only executions in these statuses."),
    ] = None,
    before_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_ID,
            description="Only executions older than this one: the next page starts before"
            " the last id of this one.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ExecutionPublic]:
    """Newest first."""
    executions = await service.list_executions(
        user,
        event_id=event_id,
        limit=limit,
        before_id=before_id,
        statuses=tuple(status or ()),
    )
    return [ExecutionPublic.of(execution) for execution in executions]


@router.get("/latest")
async def last_executions(
    user: UserDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ExecutionPublic]:
    """The newest execution of each event the caller can see (its last result), newest
    first."""
    return [ExecutionPublic.of(e) for e in await service.last_executions(user, limit)]


@router.get("/{execution_id}")
async def get_execution(execution_id: Id, user: UserDep, service: ServiceDep) -> ExecutionPublic:
    return ExecutionPublic.of(await service.get_execution(user, execution_id))


@router.post("/{execution_id}/cancel", responses={409: {"model": ErrorBody}})
async def cancel_execution(execution_id: Id, user: UserDep, service: ServiceDep) -> ExecutionPublic:
    """Cancel: a queued execution at once; a running one is stopped by its worker."""
    return ExecutionPublic.of(await service.cancel_execution(user, execution_id))


@router.get("/{execution_id}/logs")
async def get_logs(
    execution_id: Id,
    user: UserDep,
    service: ServiceDep,
    response: Response,
    after_seq: AfterSeq = None,
    after: Annotated[
        int, Query(ge=-1, le=MAX_SEQ, description="The same as after_seq (older name).")
    ] = -1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="At most this many lines (page with after_seq).")
    ] = MAX_PAGE,
) -> list[LogLinePublic]:
    """The lines the script wrote on stdout and stderr, in order. The headers say whether
    there are more (``X-Has-More: true``, the next page starting after ``X-Next-After-Seq``)."""
    start = after if after_seq is None else after_seq
    lines = await service.read_logs(user, execution_id, after_seq=start, limit=limit + 1)
    more = len(lines) > limit
    lines = lines[:limit]
    response.headers[HAS_MORE_HEADER] = "true" if more else "false"
    response.headers[NEXT_AFTER_HEADER] = str(lines[-1].seq if lines else start)
    return [LogLinePublic.of(line) for line in lines]


@router.get(
    "/{execution_id}/logs/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "Server-Sent Events."}},
)
async def stream_logs(
    execution_id: Id,
    user: UserDep,
    service: ServiceDep,
    after_seq: AfterSeq = None,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    """Follow the log live (Server-Sent Events): the lines stored so far, then each line as
    it is stored (``event: line``, ``id: <seq>``), then ``event: end`` with the final status.
    A client that reconnects with ``Last-Event-ID`` resumes after that line."""
    start = _resume_point(after_seq, last_event_id)
    following = await service.follow_logs(user, execution_id, start)
    return StreamingResponse(_events(following), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


async def _events(following: _Following) -> AsyncIterator[bytes]:
    async with following as messages:
        async for message in messages:
            if isinstance(message, Idle):
                yield KEEPALIVE
            elif isinstance(message, LogEnd):
                yield sse(end_message(message))
                return
            else:
                yield sse(line_message(message), message.seq)


@router.websocket("/{execution_id}/logs/ws")
async def follow_logs_ws(
    websocket: WebSocket, execution_id: Id, after_seq: AfterSeq = None
) -> None:
    """The same as /logs/stream, each message a JSON text frame (``type``: line, end or
    keepalive)."""
    service: Service = websocket.app.state.service
    try:
        user = await _ws_caller(service, websocket)
        following = await service.follow_logs(user, execution_id, _resume_point(after_seq, None))
    except CroniumError as exc:
        status, code = status_of(exc)
        await _refuse(websocket, status, code, exc.message)
        return
    await websocket.accept()
    sending = asyncio.create_task(_send_all(websocket, following))
    closed = asyncio.create_task(_closed_by_client(websocket))
    try:
        await asyncio.wait((sending, closed), return_when=asyncio.FIRST_COMPLETED)
    finally:  # a client gone ends its follower at once, not at the next keep-alive
        for task in (sending, closed):
            task.cancel()
        await asyncio.gather(sending, closed, return_exceptions=True)


async def _send_all(websocket: WebSocket, following: _Following) -> None:
    try:
        async with following as messages:
            async for message in messages:
                if isinstance(message, Idle):
                    await websocket.send_json({"type": "keepalive"})
                elif isinstance(message, LogEnd):
                    await websocket.send_json(ws(end_message(message)))
                    break
                else:
                    await websocket.send_json(ws(line_message(message)))
        await websocket.close()
    except (WebSocketDisconnect, RuntimeError):  # the client went while we sent
        return


async def _closed_by_client(websocket: WebSocket) -> None:
    """Returns when the client closes (what it sends is not read: the socket only reads)."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


async def _ws_caller(service: Service, websocket: WebSocket) -> User:
    """The caller, as for any route; a session cookie only from a page of this site (a page
    of another one could open the socket with the browser's cookie: cross-site hijacking)."""
    scope = {**websocket.scope, "method": "GET"}
    user = await authenticator(service)(scope)
    headers = Headers(scope=websocket.scope)
    origin = headers.get("origin")
    cookie_from_elsewhere = (
        "authorization" not in headers
        and origin is not None
        and urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
    )
    if cookie_from_elsewhere:
        raise PermissionDeniedError(
            "a WebSocket with a session cookie must come from a page of this server"
        )
    return user


async def _refuse(websocket: WebSocket, status: int, code: str, message: str) -> None:
    """Refuse before the handshake: with the HTTP answer where the server can send one."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(status, code, message))
    else:
        await websocket.close(code=4000 + status, reason=message[:120])


def _resume_point(after_seq: int | None, last_event_id: str | None) -> int:
    """Where a stream starts: after Last-Event-ID (a reconnecting client), else after_seq."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        return min(int(last_event_id.strip()), MAX_SEQ)
    return -1 if after_seq is None else after_seq


_Following = AbstractAsyncContextManager[AsyncIterator[Message]]


queue = APIRouter(prefix="/queue", tags=["executions"], responses={401: {"model": ErrorBody}})


@queue.get("")
async def queue_state(user: UserDep, service: ServiceDep) -> QueuePublic:
    """How many executions of the events the caller can see are queued and running, and how
    long the oldest queued one has waited (an administrator: of all events)."""
    state = await service.queue_state(user)
    oldest = state.oldest_due_at
    waited = None if oldest is None else max(0.0, (service.clock() - oldest).total_seconds())
    return QueuePublic(
        queued=state.queued,
        running=state.running,
        oldest_due_at=oldest,
        oldest_wait_seconds=waited,
    )
