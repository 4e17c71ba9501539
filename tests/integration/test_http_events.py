"""HTTP-request events run by a real worker against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cronium.domain.egress import EgressPolicy
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.http import HttpRequest
from cronium.sandbox.fake import FakeBackend
from cronium.service import Service
from cronium.settings import WorkerSettings
from cronium.storage import Store
from cronium.worker import Worker
from tests.factories import http_event

PRIVATE_ALLOWED = WorkerSettings(egress=EgressPolicy(allow_private=True))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/ok":
            self._send(200, json.dumps({"hello": "world"}).encode(), "application/json")
        elif self.path.startswith("/status/"):
            self._send(int(self.path.rsplit("/", 1)[1]), b"nope", "text/plain")
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, b"late", "text/plain")
        elif self.path == "/big":
            self._send(200, b"x" * 5000, "text/plain")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"", "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        echo = {
            "body": body.decode(),
            "content_type": self.headers.get("Content-Type"),
            "token": self.headers.get("X-Token"),
            "host": self.headers.get("Host"),
        }
        self._send(201, json.dumps(echo).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def run(
    service: Service,
    request: HttpRequest,
    *,
    input: Any = None,
    time_limit: float = 10,
    worker: Worker | None = None,
) -> Execution:
    user, _ = await service.accounts.create_admin(f"u{time.time_ns()}")
    event = await service.create_event(
        user,
        http_event(request, name="call", timeout_seconds=time_limit),
    )
    queued = await service.run_event(user, event.id, input)
    worker = worker or Worker(service.store, FakeBackend(), PRIVATE_ALLOWED)
    assert await worker.run_once()
    return await service.store.executions.get(queued.id)


async def test_the_response_becomes_the_output(service: Service, server: str) -> None:
    done = await run(service, HttpRequest("GET", f"{server}/ok"))
    assert done.status is ExecutionStatus.SUCCEEDED, done.error
    assert done.output["status"] == 200
    assert done.output["body"] == {"hello": "world"}
    assert done.output["headers"]["content-type"] == "application/json"
    assert done.output["truncated"] is False
    (line,) = await service.store.logs.read(done.id)
    assert line.line.startswith(f"GET {server}/ok -> 200 in ")


async def test_body_headers_and_the_input_are_sent(service: Service, server: str) -> None:
    text = await run(
        service,
        HttpRequest(
            "POST", f"{server}/echo", {"X-Token": "t1", "Content-Type": "text/plain"}, "hi"
        ),
    )
    assert text.output["status"] == 201
    assert text.output["body"] == {
        "body": "hi",
        "content_type": "text/plain",
        "token": "t1",
        "host": f"localhost:{server.rsplit(':', 1)[1]}",
    }
    fed = await run(service, HttpRequest("POST", f"{server}/echo"), input={"n": 1})
    assert json.loads(fed.output["body"]["body"]) == {"n": 1}
    assert fed.output["body"]["content_type"] == "application/json"


@pytest.mark.parametrize("fail_on_status", [True, False])
async def test_an_error_status_fails_the_run_only_if_asked(
    service: Service, server: str, fail_on_status: bool
) -> None:
    request = HttpRequest("GET", f"{server}/status/503", fail_on_status=fail_on_status)
    done = await run(service, request)
    assert done.output["status"] == 503
    if fail_on_status:
        assert done.status is ExecutionStatus.FAILED
        assert done.error == "the server answered 503 Service Unavailable"
    else:
        assert done.status is ExecutionStatus.SUCCEEDED


async def test_a_slow_server_times_the_run_out(service: Service, server: str) -> None:
    done = await run(service, HttpRequest("GET", f"{server}/slow"), time_limit=1)
    assert done.status is ExecutionStatus.TIMED_OUT
    assert (done.error, done.timed_out) == ("timed out after 1 s", True)


async def test_the_body_is_capped(service: Service, server: str) -> None:
    settings = dataclasses.replace(PRIVATE_ALLOWED, http_max_body=1024)
    worker = Worker(service.store, FakeBackend(), settings)
    done = await run(service, HttpRequest("GET", f"{server}/big"), worker=worker)
    assert (len(done.output["body"]), done.output["truncated"]) == (1024, True)


async def test_redirects_are_followed(service: Service, server: str) -> None:
    done = await run(service, HttpRequest("GET", f"{server}/moved"))
    assert (done.output["status"], done.output["body"]) == (200, {"hello": "world"})
    assert len(await service.store.logs.read(done.id)) == 2


async def test_private_addresses_are_refused_unless_allowed(service: Service, server: str) -> None:
    worker = Worker(service.store, FakeBackend())  # the default: not allowed
    done = await run(service, HttpRequest("GET", f"{server}/ok"), worker=worker)
    assert done.status is ExecutionStatus.FAILED
    assert "a loopback address" in (done.error or "")
    assert "CRONIUM_HTTP_ALLOW_PRIVATE=true" in (done.error or "")


async def test_an_unreachable_server_fails_with_the_reason(service: Service) -> None:
    done = await run(service, HttpRequest("GET", "http://127.0.0.1:9/"))
    assert done.status is ExecutionStatus.FAILED
    assert (done.error or "").startswith("the request failed: ")


async def test_a_request_can_be_cancelled(service: Service, store: Store, server: str) -> None:
    user, _ = await service.accounts.create_admin("canceller")
    event = await service.create_event(
        user,
        http_event(f"{server}/slow", name="slow"),
    )
    queued = await service.run_event(user, event.id)
    worker = Worker(store, FakeBackend(), PRIVATE_ALLOWED)
    running = asyncio.create_task(worker.run_once())
    await asyncio.sleep(0.5)
    worker.request_cancel(queued.id)
    await asyncio.wait_for(running, timeout=2)
    done = await store.executions.get(queued.id)
    assert (done.status, done.error) == (ExecutionStatus.CANCELLED, "cancelled by a user")
