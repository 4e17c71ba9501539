"""One attempt of a delivery, against real servers on loopback: an HTTP server that records
what Slack, Discord, Teams and webhook tools send, and aiosmtpd for email (plain, STARTTLS
with a login, implicit TLS), with a self-signed certificate made here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cronium.actions.deliver import Attempt, attempt, target_of
from cronium.domain.egress import EgressPolicy
from cronium.domain.tool import ToolKind, check_credentials

LOOPBACK = EgressPolicy(allow_private=True)
PUBLIC_ONLY = EgressPolicy(allow_private=False)
TOKEN = "T0AAAA/B0BBBB/s3cr3tT0k3nXXXXXXXXXXXX"


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
    """The HTTP server's address and the requests it received."""

    url: str
    received: list[Received] = field(default_factory=list)

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path.split("?")[0] == path]


def _answer(path: str) -> tuple[int, dict[str, str], bytes]:
    """What the server answers for ``path``: its first segment says how."""
    how = path.split("?")[0].strip("/").split("/")[0]
    in_a_minute = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60), usegmt=True)
    return {
        "ok": (200, {}, b"ok"),
        "discord": (200, {"Content-Type": "application/json"}, b'{"id": "1"}'),
        "teams": (202, {}, b""),
        "fail": (500, {}, b"internal error"),
        "busy": (429, {"Retry-After": "7"}, b"slow down"),
        "busy-until": (503, {"Retry-After": in_a_minute}, b""),
        "discord-busy": (429, {}, b'{"message": "rate limited", "retry_after": 2.5}'),
        "bad": (400, {}, b"invalid_payload"),
        "not-ok": (200, {}, b"something else"),
        "moved": (302, {"Location": "/ok"}, b""),
        "echo": (404, {}, f"no_service for {path}".encode()),
        "echo-late": (404, {}, f"{'x' * 150} no_service for {path}".encode()),
    }.get(how, (404, {}, b"no route"))


class Handler(BaseHTTPRequestHandler):
    hooks: Hooks

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.hooks.received.append(Received(self.command, self.path, headers, body))
        if self.path.startswith("/slow"):
            time.sleep(2)
        status, extra, answer = _answer(self.path)
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    handler = type("BoundHandler", (Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    handler.hooks = Hooks(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler.hooks
    finally:
        httpd.shutdown()
        httpd.server_close()


async def send(
    kind: ToolKind, credentials: dict[str, Any], params: dict[str, Any], **options: Any
) -> Attempt:
    action = {ToolKind.EMAIL: "send_email", ToolKind.WEBHOOK: "send"}.get(kind, "send_message")
    checked = check_credentials(kind, credentials)
    egress = options.pop("egress", LOOPBACK)
    return await attempt(kind, checked, action, params, egress=egress, **options)


# --- HTTP services ----------------------------------------------------------------------------


async def test_a_slack_message_is_posted_in_slacks_format(hooks: Hooks) -> None:
    url = f"{hooks.url}/ok/services/{TOKEN}"
    params = {"text": "backup failed", "channel": "#ops", "username": "cron", "icon_emoji": ":x:"}
    result = await send(ToolKind.SLACK, {"webhook_url": url}, params)
    assert result == Attempt(True, False, 200, "ok", None)
    (request,) = hooks.to(f"/ok/services/{TOKEN}")
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == params


async def test_a_discord_message_waits_for_discords_answer(hooks: Hooks) -> None:
    url = f"{hooks.url}/discord/api/webhooks/1/abc?thread_id=9"
    params = {"content": "done", "embeds": [{"title": "t"}], "tts": False, "channel_id": "42"}
    result = await send(ToolKind.DISCORD, {"webhook_url": url}, params)
    assert result.delivered, result.error
    (request,) = hooks.to("/discord/api/webhooks/1/abc")
    assert request.path.endswith("?thread_id=9&wait=true")
    assert request.json() == {"content": "done", "embeds": [{"title": "t"}], "tts": False}


async def test_a_long_discord_message_is_cut_to_discords_limit(hooks: Hooks) -> None:
    url = f"{hooks.url}/discord/long"
    result = await send(ToolKind.DISCORD, {"webhook_url": url}, {"content": "x" * 5000})
    assert result.delivered
    content = hooks.to("/discord/long")[0].json()["content"]
    assert len(content) == 2000
    assert content.endswith("[cut]")


async def test_a_teams_message_is_an_adaptive_card(hooks: Hooks) -> None:
    url = f"{hooks.url}/teams/workflows/abc"
    result = await send(ToolKind.TEAMS, {"webhook_url": url}, {"title": "Backup", "text": "ok"})
    assert result == Attempt(True, False, 202, "", None)
    payload = hooks.to("/teams/workflows/abc")[0].json()
    assert payload["type"] == "message"
    assert payload["text"] == "ok"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"] == [
        {"type": "TextBlock", "text": "Backup", "weight": "Bolder", "size": "Large", "wrap": True},
        {"type": "TextBlock", "text": "ok", "wrap": True},
    ]


async def test_a_webhook_sends_its_method_path_query_headers_and_json_body(hooks: Hooks) -> None:
    credentials = {
        "url": f"{hooks.url}/ok/api?key=1",
        "method": "PUT",
        "headers": {"X-Token": "credential-token", "X-Kind": "from-credentials"},
    }
    params = {
        "body": {"status": "failed", "lines": ["a", "b"]},
        "headers": {"x-kind": "from-params"},
        "path": "runs/7",
        "query": {"verbose": True, "n": 3},
    }
    result = await send(ToolKind.WEBHOOK, credentials, params)
    assert result.delivered
    assert result.code == 200
    (request,) = hooks.to("/ok/api/runs/7")
    assert request.method == "PUT"
    assert request.path == "/ok/api/runs/7?key=1&verbose=true&n=3"
    assert request.headers["x-token"] == "credential-token"
    assert request.headers["x-kind"] == "from-params"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == params["body"]


@pytest.mark.parametrize(
    ("path", "transient", "code", "retry_after"),
    [
        ("/fail", True, 500, None),
        ("/busy", True, 429, 7.0),
        ("/bad", False, 400, None),
        ("/not-ok", False, 200, None),
        ("/moved", False, 302, None),
    ],
)
async def test_an_answer_says_whether_to_retry(
    hooks: Hooks, path: str, transient: bool, code: int, retry_after: float | None
) -> None:
    result = await send(ToolKind.SLACK, {"webhook_url": f"{hooks.url}{path}"}, {"text": "hi"})
    assert not result.delivered
    assert (result.transient, result.code, result.retry_after) == (transient, code, retry_after)
    assert result.error


async def test_a_bad_payload_is_refused_for_good_with_slacks_words(hooks: Hooks) -> None:
    result = await send(ToolKind.SLACK, {"webhook_url": f"{hooks.url}/bad"}, {"text": "hi"})
    assert result.reply == "invalid_payload"
    assert result.error is not None
    assert "invalid_payload" in result.error


async def test_retry_after_may_be_a_date_or_discords_json(hooks: Hooks) -> None:
    dated = await send(ToolKind.TEAMS, {"webhook_url": f"{hooks.url}/busy-until"}, {"text": "x"})
    assert dated.transient
    assert dated.code == 503
    assert dated.retry_after is not None
    assert 50 <= dated.retry_after <= 60
    discord = await send(
        ToolKind.DISCORD, {"webhook_url": f"{hooks.url}/discord-busy"}, {"content": "x"}
    )
    assert (discord.transient, discord.code, discord.retry_after) == (True, 429, 2.5)


async def test_a_loopback_url_is_refused_by_the_egress_policy(hooks: Hooks) -> None:
    url = f"{hooks.url}/ok/refused"
    result = await send(ToolKind.SLACK, {"webhook_url": url}, {"text": "x"}, egress=PUBLIC_ONLY)
    assert (result.delivered, result.transient, result.code) == (False, False, None)
    assert result.error is not None
    assert "CRONIUM_HTTP_ALLOW_PRIVATE" in result.error
    assert hooks.to("/ok/refused") == []


async def test_no_secret_of_the_url_is_in_the_reply_or_the_error(hooks: Hooks) -> None:
    url = f"{hooks.url}/echo/services/{TOKEN}"
    result = await send(ToolKind.SLACK, {"webhook_url": url}, {"text": "x"})
    assert hooks.to(f"/echo/services/{TOKEN}"), "the server got it and echoed its path"
    assert (result.delivered, result.transient, result.code) == (False, False, 404)
    assert result.reply == "no_service for ***"
    assert "s3cr3t" not in f"{result.reply} {result.error}"


async def test_a_secret_echoed_where_the_reply_is_cut_is_masked_whole(hooks: Hooks) -> None:
    url = f"{hooks.url}/echo-late/services/{TOKEN}"
    result = await send(ToolKind.SLACK, {"webhook_url": url}, {"text": "x"})
    assert result.code == 404
    for piece in (TOKEN, TOKEN[:8], TOKEN[-8:]):
        assert piece not in f"{result.reply} {result.error}"


async def test_no_secret_is_in_a_connection_failure(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}/services/{TOKEN}"
    result = await send(ToolKind.SLACK, {"webhook_url": url}, {"text": "x"})
    assert (result.delivered, result.transient, result.code) == (False, True, None)
    assert "s3cr3t" not in f"{result.reply} {result.error}"


async def test_a_server_that_does_not_answer_in_time_is_worth_retrying(hooks: Hooks) -> None:
    url = f"{hooks.url}/slow"
    result = await send(ToolKind.SLACK, {"webhook_url": url}, {"text": "x"}, timeout=0.5)
    assert (result.delivered, result.transient) == (False, True)
    assert result.error is not None


async def test_params_that_render_badly_fail_for_good_without_raising(hooks: Hooks) -> None:
    credentials = {"url": f"{hooks.url}/ok/never", "method": "GET"}
    result = await send(ToolKind.WEBHOOK, credentials, {"body": {"a": 1}})
    assert (result.delivered, result.transient) == (False, False)
    assert result.error is not None
    assert "GET" in result.error
    assert hooks.to("/ok/never") == []


def test_the_target_names_the_host_and_channel_but_no_secret() -> None:
    slack = check_credentials(ToolKind.SLACK, {"webhook_url": f"https://hooks.slack.com/{TOKEN}"})
    assert target_of(ToolKind.SLACK, slack, {"channel": "#general"}) == (
        "slack hooks.slack.com #general"
    )
    hook = check_credentials(ToolKind.WEBHOOK, {"url": f"https://api.example.com/{TOKEN}"})
    assert target_of(ToolKind.WEBHOOK, hook, {}) == "webhook POST api.example.com"
    mail = {"to": ["a@x.org", "B <b@y.org>"], "bcc": "c@z.org"}
    assert target_of(ToolKind.EMAIL, {}, mail) == "email a@x.org, B <b@y.org>"  # no Bcc


# --- email --------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """An aiosmtpd handler keeping each message with its envelope; RCPT to ``refuse@...`` is
    answered 550, DATA with a subject of ``later`` 451."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("refuse@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if message["Subject"] == "later":
            return "451 4.3.0 try again later"
        self.messages.append((envelope, message))
        return "250 OK queued as 42"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"cron",
            b"hunter2-password",
        )
        if good:
            self.logins.append(data.login.decode())
        return AuthResult(success=good, handled=False)  # not handled: aiosmtpd answers 535


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    pem: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.pem)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(folder / "cert.pem", folder / "key.pem", pem.decode())


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class SmtpServer:
    """aiosmtpd on loopback, started by the test with the options it needs."""

    port: int
    inbox: Inbox = field(default_factory=Inbox)
    controller: Controller | None = None

    def start(self, **options: Any) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()


@pytest.fixture
def smtp(unused_port: int) -> Iterator[SmtpServer]:
    server = SmtpServer(unused_port)
    yield server
    if server.controller is not None:
        server.controller.stop()


def mail(port: int, **credentials: Any) -> dict[str, Any]:
    sender = "Cronium <cron@example.org>"
    return {"host": "localhost", "port": port, "sender": sender, "tls": "none", **credentials}


MESSAGE = {
    "to": "Ann <ann@example.org>, bob@example.org",
    "cc": ["carol@example.org"],
    "bcc": "secret-boss@example.org",
    "reply_to": "ops@example.org",
    "subject": "Backup failed",
    "body": "The backup failed.",
    "html": "<p>The backup <b>failed</b>.</p>",
    "attachments": [{"filename": "tail.log", "content": "line 1\nline 2\n"}],
}


async def test_an_email_reaches_its_recipients_with_bcc_only_in_the_envelope(
    smtp: SmtpServer,
) -> None:
    smtp.start()
    result = await send(ToolKind.EMAIL, mail(smtp.port), MESSAGE)
    assert result == Attempt(True, False, 250, "250 OK queued as 42", None)
    ((envelope, message),) = smtp.inbox.messages
    assert envelope.mail_from == "cron@example.org"
    assert envelope.rcpt_tos == [
        "ann@example.org",
        "bob@example.org",
        "carol@example.org",
        "secret-boss@example.org",
    ]
    assert message["From"] == "Cronium <cron@example.org>"
    assert message["To"] == "Ann <ann@example.org>, bob@example.org"
    assert message["Cc"] == "carol@example.org"
    assert message["Reply-To"] == "ops@example.org"
    assert message["Subject"] == "Backup failed"
    assert message["Bcc"] is None
    assert b"secret-boss" not in envelope.original_content
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert text.get_content().strip() == "The backup failed."
    assert html is not None
    assert "<b>failed</b>" in html.get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "tail.log"
    assert attachment.get_content_type() == "text/plain"
    assert attachment.get_content() == "line 1\nline 2\n"


async def test_starttls_and_a_login_are_used_when_asked(
    smtp: SmtpServer, certificate: Certificate
) -> None:
    smtp.start(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=smtp.inbox.authenticate,
        auth_required=True,
    )
    credentials = mail(smtp.port, tls="starttls", username="cron", password="hunter2-password")
    context = certificate.client_context()
    result = await send(ToolKind.EMAIL, credentials, MESSAGE, tls_context=context)
    assert result.delivered, result.error
    assert smtp.inbox.logins == ["cron"]
    assert len(smtp.inbox.messages) == 1

    wrong = {**credentials, "password": "not-the-password"}
    refused = await send(ToolKind.EMAIL, wrong, MESSAGE, tls_context=context)
    assert (refused.delivered, refused.transient, refused.code) == (False, False, 535)
    assert "username and password" in (refused.error or "")
    assert "not-the-password" not in f"{refused.reply} {refused.error}"


async def test_implicit_tls_is_used_when_asked(smtp: SmtpServer, certificate: Certificate) -> None:
    smtp.start(ssl_context=certificate.server_context())
    context = certificate.client_context()
    result = await send(ToolKind.EMAIL, mail(smtp.port, tls="tls"), MESSAGE, tls_context=context)
    assert result.delivered, result.error
    assert len(smtp.inbox.messages) == 1

    untrusted = await send(ToolKind.EMAIL, mail(smtp.port, tls="tls"), MESSAGE)
    assert (untrusted.delivered, untrusted.transient) == (False, False)
    assert "certificate" in (untrusted.error or "")


async def test_no_starttls_offered_means_nothing_is_sent_in_clear(
    smtp: SmtpServer, certificate: Certificate
) -> None:
    smtp.start()
    context = certificate.client_context()
    result = await send(
        ToolKind.EMAIL, mail(smtp.port, tls="starttls"), MESSAGE, tls_context=context
    )
    assert (result.delivered, result.transient) == (False, False)
    assert "STARTTLS" in (result.error or "")
    assert smtp.inbox.messages == []


async def test_a_550_is_permanent_and_a_451_is_worth_retrying(
    smtp: SmtpServer,
) -> None:
    smtp.start()
    alone = {**MESSAGE, "to": "refuse@example.org", "cc": [], "bcc": []}
    refused = await send(ToolKind.EMAIL, mail(smtp.port), alone)
    assert (refused.delivered, refused.transient, refused.code) == (False, False, 550)
    assert "no such mailbox" in refused.reply
    later = await send(ToolKind.EMAIL, mail(smtp.port), {**MESSAGE, "subject": "later"})
    assert (later.delivered, later.transient, later.code) == (False, True, 451)
    assert smtp.inbox.messages == []


async def test_a_refused_recipient_among_others_is_said_in_the_reply(
    smtp: SmtpServer,
) -> None:
    smtp.start()
    result = await send(ToolKind.EMAIL, mail(smtp.port), {**MESSAGE, "cc": "refuse@example.org"})
    assert result.delivered
    assert "refuse@example.org: 550" in result.reply
    assert len(smtp.inbox.messages) == 1


async def test_an_smtp_server_on_loopback_is_refused_by_the_egress_policy(
    smtp: SmtpServer,
) -> None:
    smtp.start()
    result = await send(ToolKind.EMAIL, mail(smtp.port), MESSAGE, egress=PUBLIC_ONLY)
    assert (result.delivered, result.transient, result.code) == (False, False, None)
    assert "CRONIUM_HTTP_ALLOW_PRIVATE" in (result.error or "")
    assert smtp.inbox.messages == []


async def test_an_smtp_server_that_is_not_there_is_worth_retrying(unused_port: int) -> None:
    result = await send(ToolKind.EMAIL, mail(unused_port), MESSAGE, timeout=5)
    assert (result.delivered, result.transient, result.code) == (False, True, None)
    assert result.error is not None
