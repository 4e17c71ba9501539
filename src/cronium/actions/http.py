"""Running an HTTP-request event: one request with httpx, its response as the run's output.

:class:`HttpRunner` is the worker's runner of HTTP-request events: it makes the request itself,
no sandbox needed, and reports how it went as a :class:`~cronium.sandbox.spec.SandboxResult`
like a script's run (with no exit code: ``succeeded``, ``error`` and the response as ``output``).

As the request is made from the worker, it guards where it goes: unless the egress policy
allows private networks (``CRONIUM_HTTP_ALLOW_PRIVATE``), a request whose host resolves to a
loopback, private, link-local or otherwise reserved address is refused. The address checked is
the address connected to (the request goes to the resolved IP, with the name kept for the
``Host`` header and TLS), so a name cannot resolve one way for the check and another for the
connection. Redirects are followed (at most five), each one checked the same way. Tool
actions (``cronium.actions.deliver``) go through the same checks: :func:`send_pinned` for
their HTTP requests, :func:`checked_addresses` for an SMTP server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Event
from cronium.domain.execution import Execution
from cronium.domain.http import HttpRequest
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH, json_depth_error
from cronium.errors import CroniumError
from cronium.sandbox.spec import OutputLine, OutputSink, SandboxResult, Stream

MAX_REDIRECTS = 5
CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
REDIRECTS = (301, 302, 303, 307, 308)
Log = Callable[[Stream, str], None]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RequestRefusedError(CroniumError):
    """The request may not be made (its destination is not allowed)."""


class UnresolvableHostError(RequestRefusedError):
    """The request's host name does not resolve; ``temporary`` if the resolver said so."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True, slots=True)
class HttpCall:
    """What one run of an HTTP-request event makes: ``request``, with ``input`` as its JSON
    body if it has none, within ``time_limit`` seconds."""

    request: HttpRequest
    input: Any
    time_limit: float


class HttpRunner:
    """Runs HTTP-request events for the worker, with the same interface and result as a
    sandbox backend's run; each line it logs is timed by ``clock``."""

    def __init__(
        self, *, max_body: int, egress: EgressPolicy, clock: Callable[[], datetime]
    ) -> None:
        self.max_body = max_body
        self.egress = egress
        self.clock = clock

    def prepare(
        self, execution: Execution, event: Event, secrets: Mapping[str, str] | None = None
    ) -> HttpCall:
        """The request of a claimed execution's event, with the execution's input (a request
        has no sandbox to map secrets into: the worker masks them in what it records)."""
        assert event.http is not None, "an HTTP-request event has a request"
        return HttpCall(event.http, execution.input, event.limits.timeout_seconds)

    async def run(
        self, call: HttpCall, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        """Make the request, passing each line it logs to ``on_output``; stops when ``cancel``
        is set or the time limit passes."""

        def log(stream: Stream, text: str) -> None:
            on_output(OutputLine(stream=stream, at=self.clock(), text=text))

        return await perform(
            call,
            cancel=cancel or asyncio.Event(),
            max_body=self.max_body,
            egress=self.egress,
            log=log,
        )


async def perform(
    call: HttpCall, *, cancel: asyncio.Event, max_body: int, egress: EgressPolicy, log: Log
) -> SandboxResult:
    """Make ``call``'s request within its time limit; how it ended, as a run's result."""
    request, time_limit = call.request, call.time_limit
    started = time.monotonic()
    work = asyncio.ensure_future(
        _exchange(request, call.input, max_body=max_body, egress=egress, log=log)
    )
    stop = asyncio.ensure_future(cancel.wait())
    try:
        done, _ = await asyncio.wait(
            {work, stop}, timeout=time_limit, return_when="FIRST_COMPLETED"
        )
    finally:
        stop.cancel()
    seconds = time.monotonic() - started
    if work not in done:
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        if cancel.is_set():
            return ended_without_process(seconds, cancelled=True)
        log("stderr", f"no response within {time_limit:g} s")
        return ended_without_process(seconds, timed_out=True)
    try:
        output = work.result()
    except (httpx.HTTPError, RequestRefusedError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        log("stderr", message)
        return ended_without_process(seconds, error=f"the request failed: {message}")
    failure: str | None = None
    if request.fail_on_status and output["status"] >= 400:
        failure = f"the server answered {output['status']} {output['reason']}"
    return ended_without_process(seconds, output=output, error=failure)


def ended_without_process(
    seconds: float,
    *,
    output: Any = None,
    error: str | None = None,
    timed_out: bool = False,
    cancelled: bool = False,
) -> SandboxResult:
    """A request's (or a tool event's message's) end as a run's result: no process, so no
    exit code, setup or cleanup; it succeeded unless it timed out, was cancelled or has an
    ``error``."""
    return SandboxResult(
        exit_code=None,
        timed_out=timed_out,
        cancelled=cancelled,
        setup_seconds=None,
        run_seconds=seconds,
        cleanup_seconds=None,
        succeeded=error is None and not (timed_out or cancelled),
        error=error,
        output=output,
    )


async def _exchange(
    request: HttpRequest, input: Any, *, max_body: int, egress: EgressPolicy, log: Log
) -> dict[str, Any]:
    method, url = request.method, request.url
    headers = dict(request.headers)
    content = _content(request, input, headers)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            started = time.monotonic()
            response = await send_pinned(client, method, url, headers, content, egress)
            try:
                elapsed = (time.monotonic() - started) * 1000
                log("stdout", f"{method} {url} -> {response.status_code} in {elapsed:.0f} ms")
                location = response.headers.get("location")
                if response.status_code in REDIRECTS and location:
                    target = urljoin(url, location)
                    if _origin(target) != _origin(url):  # credentials stay with their origin
                        for name in [n for n in headers if n.lower() in CREDENTIALS]:
                            del headers[name]
                    url = target
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method, content = "GET", None
                        headers.pop("Content-Type", None)
                    continue
                body, truncated = await read_capped(response, max_body)
                return _output(response, body, truncated)
            finally:
                await response.aclose()
    raise RequestRefusedError(f"more than {MAX_REDIRECTS} redirects, the last to {url}")


async def send_pinned(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    egress: EgressPolicy,
) -> httpx.Response:
    """Send to each checked address of the URL's host in turn, until one connects (the name
    kept for the Host header and TLS); RequestRefusedError if the egress policy refuses one
    of them. The response is streamed: the caller reads and closes it."""
    targets, host = await _pinned(url, egress)
    failure: httpx.ConnectError | None = None
    for target in targets:
        outgoing = client.build_request(
            method,
            target,
            headers={"Host": host, **headers},
            content=content,
            extensions={"sni_hostname": urlsplit(url).hostname or ""},
        )
        try:
            return await client.send(outgoing, stream=True)
        except httpx.ConnectError as exc:
            failure = exc
    assert failure is not None
    raise failure


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _content(request: HttpRequest, input: Any, headers: dict[str, str]) -> bytes | None:
    body = request.body if request.body is not None else input
    if body is None or request.method in ("GET", "HEAD"):
        return None
    if isinstance(body, str) and request.body is not None:
        return body.encode()
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode()


async def _pinned(url: str, egress: EgressPolicy) -> tuple[list[str], str]:
    """``url`` with its host replaced by each address it resolves to, and the Host header to
    send; RequestRefusedError if the egress policy refuses any of the addresses."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    targets = []
    for address in await checked_addresses(host, port, egress):
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        targets.append(urlunsplit(parts._replace(netloc=netloc)))
    return targets, f"{host}:{parts.port}" if parts.port else host


async def checked_addresses(host: str, port: int, egress: EgressPolicy) -> list[IPAddress]:
    """The distinct addresses ``host`` resolves to, to connect to rather than the name (so
    that it cannot resolve one way for the check and another for the connection);
    RequestRefusedError if the egress policy refuses any of them, UnresolvableHostError if
    it does not resolve."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnresolvableHostError(
            f"cannot resolve {host}: {exc.strerror}", temporary=exc.errno == socket.EAI_AGAIN
        ) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    for address in addresses:
        refusal = egress.address_refusal(host, address, _kind(address))
        if refusal is not None:
            raise RequestRefusedError(refusal)
    return list(dict.fromkeys(addresses))


def _kind(address: IPAddress) -> str | None:
    """Which kind of non-public address ``address`` is (loopback, private...); None for a
    public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return _kind(embedded)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("site-local", getattr(address, "is_site_local", False)),
        ("non-public", not address.is_global),  # shared (100.64/10), site-local, and others
    )
    return next((name for name, matches in checks if matches), None)


async def read_capped(response: httpx.Response, max_body: int) -> tuple[bytes, bool]:
    """The start of the response's body, at most ``max_body`` bytes, and whether it was cut."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_body:
            return b"".join(chunks)[:max_body], True
    return b"".join(chunks), False


def _output(response: httpx.Response, body: bytes, truncated: bool) -> dict[str, Any]:
    text = body.decode(response.encoding or "utf-8", errors="replace")
    parsed: Any = text
    # kept as text when it nests too deep to be stored and read back safely
    deep = json_depth_error(body, DEFAULT_MAX_DEPTH - 1) is not None
    if not truncated and not deep and "json" in response.headers.get("content-type", ""):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
    return {
        "status": response.status_code,
        "reason": response.reason_phrase,
        "headers": dict(response.headers),
        "body": parsed,
        "truncated": truncated,
    }
