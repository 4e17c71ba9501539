"""Email tool actions: the message, made with the standard library's ``email`` package, and
its sending over SMTP with aiosmtplib.

:func:`build_message` is pure (the time is an argument): From is the tool's sender, Bcc is
only in the envelope, HTML is an alternative to the text, attachments follow. :func:`send`
speaks SMTP to an address already checked by the egress policy (the name kept for TLS):
``starttls`` requires STARTTLS (a server that does not offer it is refused, nothing is sent in
clear), ``tls`` is implicit TLS, ``none`` is plain. It raises aiosmtplib's errors as they
come; ``cronium.actions.deliver`` says what they mean.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import socket
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Any

import aiosmtplib

from cronium.actions.http import IPAddress
from cronium.errors import InvalidInputError


class StartTlsMissingError(aiosmtplib.SMTPException):
    """The server does not offer STARTTLS, which the tool requires."""


def build_message(
    credentials: dict[str, Any], params: dict[str, Any], *, now: datetime
) -> tuple[EmailMessage, list[str]]:
    """The message of ``params`` (rendered and checked) and its envelope's recipients."""
    message = EmailMessage(policy=SMTP_POLICY)
    sender = credentials["sender"]
    message["From"] = sender
    for header, name in (("To", "to"), ("Cc", "cc"), ("Reply-To", "reply_to")):
        if params.get(name):
            message[header] = ", ".join(params[name])
    message["Subject"] = params["subject"]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=_specs([sender])[0].rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    text, html = params.get("body"), params.get("html")
    if text:
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html, subtype="html")
    for i, attachment in enumerate(params.get("attachments") or []):
        _attach(message, attachment, f"params.attachments[{i}]")
    recipients = [*params.get("to", []), *params.get("cc", []), *params.get("bcc", [])]
    return message, list(dict.fromkeys(_specs(recipients)))


def _specs(addresses: list[str]) -> list[str]:
    """The bare addresses (``a@example.com``) of formatted ones (``A <a@example.com>``)."""
    return [spec for _, spec in getaddresses(addresses) if spec]


def _attach(message: EmailMessage, attachment: dict[str, Any], where: str) -> None:
    name = attachment["filename"]
    if "content_base64" in attachment:
        try:
            content = base64.b64decode(attachment["content_base64"])
        except (binascii.Error, ValueError):
            raise InvalidInputError(f"{where}.content_base64 is not base64") from None
        default = "application/octet-stream"
    else:
        content = attachment["content"].encode()
        default = "text/plain"
    kind = attachment.get("content_type") or mimetypes.guess_type(name)[0] or default
    maintype, _, subtype = kind.partition("/")
    message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)


async def send(
    credentials: dict[str, Any],
    message: EmailMessage,
    recipients: list[str],
    *,
    addresses: list[IPAddress],
    tls_context: ssl.SSLContext,
    seconds: float,
) -> str:
    """Send ``message`` to ``recipients`` through the tool's server, connecting to the first
    of ``addresses`` that answers; the server's reply (``250 ...``), with the recipients it
    refused if it took the others. Each step waits at most ``seconds``."""
    tls = credentials["tls"]
    sock = await _connected(addresses, credentials["port"], seconds)
    smtp = aiosmtplib.SMTP(
        hostname=credentials["host"],
        sock=sock,
        use_tls=tls == "tls",
        start_tls=False,
        tls_context=tls_context,
        timeout=seconds,
        local_hostname=await _local_name(),
    )
    try:
        await smtp.connect()
        if tls == "starttls":
            await smtp.ehlo()
            if not smtp.supports_extension("starttls"):
                raise StartTlsMissingError("the server does not offer STARTTLS")
            await smtp.starttls()
        if credentials.get("username"):
            await smtp.login(credentials["username"], credentials["password"])
        sender = _specs([credentials["sender"]])[0]
        refused, reply = await smtp.send_message(message, sender=sender, recipients=recipients)
    finally:  # the connection owns the socket from connect() on, and closes it
        await _close(smtp)
    if refused:
        said = "; ".join(
            f"{who}: {answer.code} {answer.message}" for who, answer in refused.items()
        )
        return f"250 {reply} (refused {said})"
    return f"250 {reply}"


async def _connected(addresses: list[IPAddress], port: int, seconds: float) -> socket.socket:
    """A socket connected to the first of ``addresses`` that answers on ``port``."""
    loop = asyncio.get_running_loop()
    failure: OSError = OSError("the server's host has no address")
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (str(address), port)), seconds)
            return sock
        except OSError as exc:  # TimeoutError too
            sock.close()
            failure = exc
        except BaseException:
            sock.close()
            raise
    raise aiosmtplib.SMTPConnectError(f"cannot connect to port {port}: {failure}")


async def _close(smtp: aiosmtplib.SMTP) -> None:
    """Say QUIT and close, then give the connection a moment to be closed (a TLS one says
    close_notify first), so that its socket is not left to the garbage collector."""
    protocol = smtp.protocol
    if smtp.is_connected:
        try:
            await smtp.quit()
        except aiosmtplib.SMTPException:
            smtp.close()
    smtp.close()
    for _ in range(50):
        if protocol is None or protocol.transport is None:
            return
        await asyncio.sleep(0.01)


_names: list[str] = []


async def _local_name() -> str:
    """This host's name, said in EHLO (looked up once: it may take a DNS query)."""
    if not _names:
        _names.append(await asyncio.to_thread(socket.getfqdn))
    return _names[0]
