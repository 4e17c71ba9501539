"""One attempt of a delivery through a tool: a message to Slack, Discord or Teams, an email, a
webhook call. Retrying is the caller's: :class:`Attempt` says whether it is worth it.

:func:`attempt` never raises for a failure of the other side (the network, TLS, a refusal, an
SMTP error, the egress policy): each becomes an Attempt with a reason a person can act on.
The translation is here, in one place: :func:`_http_failure` and :func:`_smtp_failure`. Where
tool requests go is checked like HTTP-request events' (``cronium.actions.http``): private,
loopback and link-local addresses are refused unless the policy allows them, and the address
checked is the address connected to, for HTTP and for the SMTP server alike. No reply or
error holds a secret of the tool's: each :func:`~cronium.domain.tool.secret_values` string in
them is replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
import httpx

from cronium.actions import email
from cronium.actions.http import (
    RequestRefusedError,
    UnresolvableHostError,
    checked_addresses,
    read_capped,
    send_pinned,
)
from cronium.actions.messages import answer_of, request_of
from cronium.domain.egress import EgressPolicy
from cronium.domain.tool import ToolKind, check_params, secret_values
from cronium.domain.toolvalues import address_list
from cronium.errors import InvalidInputError
from cronium.masking import Masker

REPLY_MAX = 500
REPLY_READ = 4096
TARGET_MAX = 300


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt went. ``transient``: worth retrying (a 5xx, 429 or 408, a connection
    error or a timeout, an SMTP 4xx); ``code``: the HTTP status or the SMTP reply code;
    ``reply``: the start of the answer; ``retry_after``: seconds the service asked to wait;
    ``error``: why it failed."""

    delivered: bool
    transient: bool
    code: int | None
    reply: str
    retry_after: float | None
    error: str | None = None


def _failed(error: str, *, transient: bool, code: int | None = None, reply: str = "") -> Attempt:
    return Attempt(False, transient, code, reply, None, error)


def target_of(kind: ToolKind, credentials: dict[str, Any], params: dict[str, Any]) -> str:
    """What a delivery goes to, to show (``slack hooks.slack.com #general``, ``email a@x,
    b@y``): no secret, and no Bcc recipient (that is what Bcc is for)."""
    if kind is ToolKind.EMAIL:
        found: list[str] = []
        for name in ("to", "cc"):
            try:
                found += address_list(params.get(name) or [], name, lenient=True)
            except InvalidInputError:
                found.append(str(params.get(name))[:TARGET_MAX])
        return _bounded(f"email {', '.join(found)}")
    url = credentials["url"] if kind is ToolKind.WEBHOOK else credentials["webhook_url"]
    host = urlsplit(url).netloc.rpartition("@")[2]
    if kind is ToolKind.WEBHOOK:
        return f"webhook {credentials['method']} {host}"
    detail = params.get("channel") if kind is ToolKind.SLACK else None
    if kind is ToolKind.DISCORD and params.get("channel_id"):
        detail = f"channel {params['channel_id']}"
    return _bounded(f"{kind} {host} {detail}" if detail else f"{kind} {host}")


def _bounded(text: str) -> str:
    return text if len(text) <= TARGET_MAX else text[: TARGET_MAX - 3] + "..."


@functools.cache
def system_trust() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once per process (loading them costs about
    20 ms, and blocks the event loop meanwhile)."""
    return ssl.create_default_context()


async def attempt(
    kind: ToolKind,
    credentials: dict[str, Any],
    action: str,
    params: dict[str, Any],
    *,
    egress: EgressPolicy,
    timeout: float = 30.0,  # noqa: ASYNC109 (the whole attempt's limit, passed on to its steps)
    tls_context: ssl.SSLContext | None = None,
) -> Attempt:
    """Send ``params`` (rendered) once through the tool; how it went. ``tls_context``: the
    certificates to trust (the system's by default; tests pass their own)."""
    context = tls_context or system_trust()
    try:
        checked = check_params(kind, action, params, rendered=True)
        async with asyncio.timeout(timeout):
            if kind is ToolKind.EMAIL:
                result = await _send_email(credentials, checked, egress, context, timeout)
            else:
                result = await _send_http(kind, credentials, checked, egress, context, timeout)
    except InvalidInputError as exc:
        result = _failed(exc.message, transient=False)
    except TimeoutError:
        result = _failed(f"no answer within {timeout:g} s", transient=True)
    return _masked(result, Masker(secret_values(kind, credentials)))


def _masked(result: Attempt, masker: Masker) -> Attempt:
    reply = masker.text(result.reply)
    if len(reply) > REPLY_MAX:
        reply = reply[: REPLY_MAX - 3] + "..."
    return replace(result, reply=reply, error=masker.optional(result.error))


async def _send_http(
    kind: ToolKind,
    credentials: dict[str, Any],
    params: dict[str, Any],
    egress: EgressPolicy,
    context: ssl.SSLContext,
    seconds: float,
) -> Attempt:
    message = request_of(kind, credentials, params)
    try:
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, verify=context, timeout=seconds
        ) as client:
            response = await send_pinned(
                client, message.method, message.url, message.headers, message.body, egress
            )
            try:
                body, _ = await read_capped(response, REPLY_READ)
            finally:
                await response.aclose()
    except (httpx.HTTPError, RequestRefusedError, OSError) as exc:
        return _http_failure(exc)
    # masked whole, before any part of it is cut: a cut secret would not be found any more
    masker = Masker(secret_values(kind, credentials))
    text = masker.text(body.decode(response.encoding or "utf-8", errors="replace"))
    status = response.status_code
    answer = answer_of(kind, status, response.headers, text, datetime.now(UTC))
    return Attempt(
        answer.delivered, answer.transient, status, text, answer.retry_after, answer.error
    )


def _http_failure(exc: Exception) -> Attempt:
    """What a request that got no answer means."""
    if isinstance(exc, UnresolvableHostError):
        return _failed(f"{exc.message}: check the URL's host", transient=exc.temporary)
    if isinstance(exc, RequestRefusedError):
        return _failed(f"the request was not sent: {exc.message}", transient=False)
    reason = str(exc) or type(exc).__name__
    if _certificate_refused(exc):
        return _failed(f"the server's TLS certificate is not trusted: {reason}", transient=False)
    if isinstance(exc, httpx.TimeoutException):
        return _failed(f"the server did not answer in time ({reason})", transient=True)
    return _failed(f"the request failed: {reason}", transient=True)


def _certificate_refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the chain of causes, not forever
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _send_email(
    credentials: dict[str, Any],
    params: dict[str, Any],
    egress: EgressPolicy,
    context: ssl.SSLContext,
    seconds: float,
) -> Attempt:
    host = credentials["host"]
    message, recipients = email.build_message(credentials, params, now=datetime.now(UTC))
    try:
        addresses = await checked_addresses(host, credentials["port"], egress)
        reply = await email.send(
            credentials,
            message,
            recipients,
            addresses=addresses,
            tls_context=context,
            seconds=seconds,
        )
    except (aiosmtplib.SMTPException, RequestRefusedError, OSError) as exc:
        return _smtp_failure(exc, host)
    return Attempt(True, False, 250, reply, None)


def _smtp_failure(exc: Exception, host: str) -> Attempt:
    """What a failed SMTP exchange means: a 4xx reply is worth retrying, a 5xx is not."""
    if isinstance(exc, UnresolvableHostError):
        return _failed(f"{exc.message}: check the tool's host", transient=exc.temporary)
    if isinstance(exc, RequestRefusedError):
        return _failed(f"the email was not sent: {exc.message}", transient=False)
    if isinstance(exc, email.StartTlsMissingError):
        return _failed(
            f"{host} does not offer STARTTLS, so the email was not sent (not in clear): set the"
            ' tool\'s tls to "tls" if the server speaks TLS at once on its port, or "none" only'
            " on a network you trust",
            transient=False,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        codes = [refused.code for refused in exc.recipients]
        said = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        transient = all(400 <= code < 500 for code in codes)
        error = f"{host} refused every recipient ({said})"
        return _failed(error, transient=transient, code=codes[0], reply=said)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        said = f"{exc.code} {exc.message}"
        transient = 400 <= exc.code < 500
        hint = "it will be tried again" if transient else _smtp_hint(exc)
        error = f"{host} answered {said}: {hint}"
        return _failed(error, transient=transient, code=exc.code, reply=said)
    reason = str(exc) or type(exc).__name__
    if _certificate_refused(exc):
        return _failed(f"{host}'s TLS certificate is not trusted: {reason}", transient=False)
    return _failed(f"the email could not be sent through {host}: {reason}", transient=True)


def _smtp_hint(exc: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return "check the tool's username and password"
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return "check the tool's sender: the server may not let this account send as it"
    return "the server refused the email"
