"""Real servers on loopback that receive what tool actions send: an HTTP server that records
each request and answers from a script of statuses, and an SMTP server (aiosmtpd) that keeps
each message with its envelope."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Hooks:
    """Requests by path; each path answers the statuses given for it in turn (the last one
    again and again; 200 "ok" for a path without any)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # seconds before answering, by path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, *answers: int | tuple[int, dict[str, str], bytes]) -> str:
        """Script the answers of ``path``; its URL."""
        with self.lock:
            self.answers[path] = [
                a if isinstance(a, tuple) else (a, {}, b"ok" if a < 400 else b"no") for a in answers
            ]
        return self.url + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.split("?")[0] == path]

    def _next(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            queue = self.answers.get(path.split("?")[0])
            if not queue:
                return 200, {}, b"ok"
            return queue.pop(0) if len(queue) > 1 else queue[0]


@contextmanager
def hooks() -> Iterator[Hooks]:
    state: Hooks

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
            status, headers, answer = state._next(self.path)
            time.sleep(state.delays.get(self.path.split("?")[0], 0))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state = Hooks(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class _Keeper:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 OK kept"


@dataclass
class Mailbox:
    host: str
    port: int
    keeper: _Keeper

    @property
    def mails(self) -> list[Mail]:
        return list(self.keeper.mails)


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    """A plain SMTP server on loopback (no TLS, no login)."""
    keeper = _Keeper()
    port = free_port()
    controller = Controller(keeper, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Mailbox("127.0.0.1", port, keeper)
    finally:
        controller.stop()
