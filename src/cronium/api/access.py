"""The REST API's access log: one line per request, with its method, path, status and
duration, and never a secret.

The path is logged without its query string; a webhook's key (``/api/v1/hooks/<key>``) and
anything that looks like an API token are masked; characters that are not printable are
escaped, so that a request cannot write lines of its own into the log.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cronium.api.app import HOOKS
from cronium.logs import Line
from cronium.tokens import TOKEN_PREFIX

log = logging.getLogger("cronium.access")

MASK = "***"
MAX_PATH = 300  # longer paths are cut in the log
HOOKS_SEGMENT = HOOKS.rstrip("/").rsplit("/", 1)[-1]  # "hooks": what follows it is a key


class AccessLog:
    """Pure ASGI middleware writing :func:`access_line` once each request is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            status = status or 500  # the server answers an error it did not handle with 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            access_line(scope, status or 500, elapsed).write(log)


def access_line(scope: Scope, status: int, seconds: float) -> Line:
    """The access line of a request answered with ``status`` after ``seconds``."""
    method = printable(str(scope.get("method", "")))
    path = shown_path(str(scope.get("path", "")))
    milliseconds = round(seconds * 1000, 1)
    client = scope.get("client")
    values = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": milliseconds,
        "client": client[0] if client else None,
    }
    return Line(logging.INFO, f"{method} {path} {status} {milliseconds:.1f} ms", values)


def shown_path(path: str) -> str:
    """``path`` as the log shows it: what follows ``hooks`` and token-like segments masked,
    cut to ``MAX_PATH`` characters, unprintable characters escaped."""
    segments = path.split("/")
    shown: list[str] = []
    after_hooks = False
    for segment in segments:
        secret = segment.startswith(TOKEN_PREFIX) or (after_hooks and segment != "")
        shown.append(MASK if secret else segment)
        after_hooks = after_hooks or segment.lower() == HOOKS_SEGMENT
    text = "/".join(shown)
    if len(text) > MAX_PATH:
        text = text[:MAX_PATH] + "..."
    return printable(text)


def printable(text: str) -> str:
    """``text`` with each character that is not printable escaped (a newline as ``\\n``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
