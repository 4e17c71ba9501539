"""Live logs on the wire: the messages of the log streams (Server-Sent Events and WebSocket)
and the page headers of ``GET /executions/{id}/logs``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from cronium.follow import LogEnd
from cronium.storage import LogLine

SSE_MEDIA_TYPE = "text/event-stream"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE = b": keep-alive\n\n"
HAS_MORE_HEADER = "X-Has-More"
NEXT_AFTER_HEADER = "X-Next-After-Seq"


class LogLineMessage(BaseModel):
    """A stored line (``event: line``, with ``id: <seq>`` for resuming with Last-Event-ID).
    In a workflow run's stream it carries its node and execution."""

    type: Literal["line"] = "line"
    seq: int
    stream: str
    at: datetime
    line: str
    node: str | None = None
    execution_id: int | None = None


class LogEndMessage(BaseModel):
    """The last message (``event: end``): how the execution or the run ended."""

    type: Literal["end"] = "end"
    status: str
    exit_code: int | None = None
    signal: int | None = None
    error: str | None = None


class NodeMessage(BaseModel):
    """A node of a workflow run changed status (``event: node``)."""

    type: Literal["node"] = "node"
    node: str
    status: str
    execution_id: int | None


def line_message(
    line: LogLine, node: str | None = None, execution_id: int | None = None
) -> LogLineMessage:
    return LogLineMessage(
        seq=line.seq,
        stream=line.stream,
        at=line.at,
        line=line.line,
        node=node,
        execution_id=execution_id,
    )


def end_message(end: LogEnd) -> LogEndMessage:
    return LogEndMessage(
        status=end.status, exit_code=end.exit_code, signal=end.signal, error=end.error
    )


def sse(message: BaseModel, ident: int | str | None = None) -> bytes:
    """One Server-Sent Event: its type as the event's name, the message as JSON data."""
    data = message.model_dump(mode="json", exclude_none=True)
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def ws(message: BaseModel) -> dict[str, Any]:
    """A WebSocket message: the same JSON as the event's data."""
    return message.model_dump(mode="json", exclude_none=True)
