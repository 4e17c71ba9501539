"""Running an HTTP-request event: one request with httpx, its response as the run's output.

The worker makes the request itself, so it guards where it goes: unless an administrator
allows private networks (``CRONIUM_HTTP_ALLOW_PRIVATE``), a request whose host resolves to a
loopback, private, link-local or otherwise reserved address is refused. The address checked is
the address connected to (the request goes to the resolved IP, with the name kept for the
``Host`` header and TLS), so a name cannot resolve one way for the check and another for the
connection. Redirects are followed (at most five), each one checked the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from cronium.domain.http import HttpRequest
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH, json_depth_error
from cronium.errors import CroniumError

DEFAULT_MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 5
CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
REDIRECTS = (301, 302, 303, 307, 308)
PRIVATE_REFUSED = (
    "{host} resolves to {address}, a {kind} address: HTTP-request events may not reach it "
    "unless an administrator sets CRONIUM_HTTP_ALLOW_PRIVATE=true"
)
Log = Callable[[str, str], None]  # (stream, line)


class RequestRefusedError(CroniumError):
    """The request may not be made (its destination is not allowed)."""


@dataclass(frozen=True, slots=True)
class HttpOutcome:
    """How a request ended: a response (``output``), or ``error``."""

    output: dict[str, Any] | None
    error: str | None
    timed_out: bool = False
    cancelled: bool = False
    seconds: float = 0.0


async def perform(
    request: HttpRequest,
    input: Any,
    *,
    time_limit: float,
    cancel: asyncio.Event,
    max_body: int,
    allow_private: bool,
    log: Log,
) -> HttpOutcome:
    """Make ``request`` (with ``input`` as its JSON body if it has none) within ``time_limit``
    seconds."""
    started = time.monotonic()
    work = asyncio.ensure_future(
        _exchange(request, input, max_body=max_body, allow_private=allow_private, log=log)
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
            return HttpOutcome(None, "cancelled", cancelled=True, seconds=seconds)
        log("stderr", f"no response within {time_limit:g} s")
        error = f"timed out after {time_limit:g} s"
        return HttpOutcome(None, error, timed_out=True, seconds=seconds)
    try:
        output = work.result()
    except (httpx.HTTPError, RequestRefusedError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        log("stderr", message)
        return HttpOutcome(None, f"the request failed: {message}", seconds=seconds)
    failure: str | None = None
    if request.fail_on_status and output["status"] >= 400:
        failure = f"the server answered {output['status']} {output['reason']}"
    return HttpOutcome(output, failure, seconds=seconds)


async def _exchange(
    request: HttpRequest, input: Any, *, max_body: int, allow_private: bool, log: Log
) -> dict[str, Any]:
    method, url = request.method, request.url
    headers = dict(request.headers)
    content = _content(request, input, headers)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            started = time.monotonic()
            response = await _send(client, method, url, headers, content, allow_private)
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
                body, truncated = await _read_capped(response, max_body)
                return _output(response, body, truncated)
            finally:
                await response.aclose()
    raise RequestRefusedError(f"more than {MAX_REDIRECTS} redirects, the last to {url}")


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    allow_private: bool,
) -> httpx.Response:
    """Send to each checked address of the URL's host in turn, until one connects."""
    targets, host = await _pinned(url, allow_private)
    failure: httpx.ConnectError | None = None
    for target in targets:
        outgoing = client.build_request(
            method, target, headers={"Host": host, **headers}, content=content,
            extensions={"sni_hostname": urlsplit(url).hostname or ""},
        )  # fmt: skip
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


async def _pinned(url: str, allow_private: bool) -> tuple[list[str], str]:
    """``url`` with its host replaced by each checked address it resolves to, and the Host
    header to send."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RequestRefusedError(f"cannot resolve {host}: {exc.strerror}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not allow_private:
        for address in addresses:
            kind = _kind(address)
            if kind:
                raise RequestRefusedError(
                    PRIVATE_REFUSED.format(host=host, address=address, kind=kind)
                )
    targets = []
    for address in dict.fromkeys(addresses):
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        targets.append(urlunsplit(parts._replace(netloc=netloc)))
    return targets, f"{host}:{parts.port}" if parts.port else host


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _kind(address.ipv4_mapped)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
    )
    return next((name for name, matches in checks if matches), None)


async def _read_capped(response: httpx.Response, max_body: int) -> tuple[bytes, bool]:
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
