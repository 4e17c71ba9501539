"""What each service's incoming webhook takes, and what its answer means.

:func:`request_of` makes the HTTP request of a Slack, Discord, Microsoft Teams or webhook tool's
action from its credentials and its (rendered, checked) params, each in the service's
documented format; :func:`answer_of` reads the service's answer: delivered or not, worth
retrying or not, after how long. Both are pure: sending is ``cronium.actions.deliver``'s.

Message texts longer than the service takes are cut (with a mark saying so) rather than
refused: a rendered log tail is easily longer than Discord's 2000 characters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cronium.domain.tool import ToolKind
from cronium.errors import InvalidInputError

SLACK_TEXT_MAX = 40_000
DISCORD_CONTENT_MAX = 2000
TEAMS_TEXT_MAX = 28_000
CUT_MARK = "\n[cut]"
RETRY_AFTER_MAX = 3600.0
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
USER_AGENT = "Cronium"
SERVICES = {
    ToolKind.SLACK: "Slack",
    ToolKind.DISCORD: "Discord",
    ToolKind.TEAMS: "Microsoft Teams",
    ToolKind.WEBHOOK: "the webhook's server",
}


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """One HTTP request to send."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a service's answer means: ``error`` says why it was not delivered."""

    delivered: bool
    transient: bool
    retry_after: float | None = None
    error: str | None = None


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, marked when it had to be cut."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def _picked(params: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: params[name] for name in names if params.get(name) is not None}


def slack_payload(params: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming webhook's message."""
    payload = _picked(
        params, ("text", "blocks", "channel", "username", "icon_emoji", "icon_url", "thread_ts")
    )
    if "text" in payload:
        payload["text"] = cut(payload["text"], SLACK_TEXT_MAX)
    return payload


def discord_payload(params: dict[str, Any]) -> dict[str, Any]:
    """A Discord webhook's message (``channel_id`` is not sent: a webhook has its channel)."""
    payload = _picked(params, ("content", "embeds", "username", "avatar_url", "tts"))
    if "content" in payload:
        payload["content"] = cut(payload["content"], DISCORD_CONTENT_MAX)
    return payload


def teams_payload(params: dict[str, Any]) -> dict[str, Any]:
    """A Teams message with an Adaptive Card (the user's own ``card``, or one made of the
    title and the text), and the text at the top level for legacy connectors."""
    text = cut(params.get("text") or "", TEAMS_TEXT_MAX)
    title = params.get("title") or ""
    card = params.get("card")
    if card is None:
        body = []
        if title:
            body.append(
                {
                    "type": "TextBlock",
                    "text": title,
                    "weight": "Bolder",
                    "size": "Large",
                    "wrap": True,
                }
            )
        if text:
            body.append({"type": "TextBlock", "text": text, "wrap": True})
        card = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body}
    payload: dict[str, Any] = {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }
    if text or title:
        payload["text"] = text or title
    return payload


def request_of(kind: ToolKind, credentials: dict[str, Any], params: dict[str, Any]) -> HttpMessage:
    """The request that sends ``params`` through a Slack, Discord, Teams or webhook tool."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    if kind is ToolKind.SLACK:
        return _json_post(credentials["webhook_url"], slack_payload(params), headers)
    if kind is ToolKind.DISCORD:  # wait=true: Discord answers with the message it made
        url = _with_query(credentials["webhook_url"], {"wait": "true"})
        return _json_post(url, discord_payload(params), headers)
    if kind is ToolKind.TEAMS:
        return _json_post(credentials["webhook_url"], teams_payload(params), headers)
    if kind is ToolKind.WEBHOOK:
        return _webhook_request(credentials, params)
    raise ValueError(f"{kind} tools do not send HTTP requests")


def _json_post(url: str, payload: dict[str, Any], headers: dict[str, str]) -> HttpMessage:
    return HttpMessage("POST", url, headers, json.dumps(payload).encode())


def _webhook_request(credentials: dict[str, Any], params: dict[str, Any]) -> HttpMessage:
    method = credentials["method"]
    headers = {"User-Agent": USER_AGENT}
    for given in (credentials.get("headers") or {}, params.get("headers") or {}):
        for name, value in given.items():  # a name given again replaces it, whatever its case
            headers = {n: v for n, v in headers.items() if n.lower() != name.lower()}
            headers[name] = value
    body = params.get("body")
    content = None
    if body is not None:
        if method == "GET":
            raise InvalidInputError("params.body: the webhook's method is GET, which has no body")
        text = isinstance(body, str)
        content = body.encode() if text else json.dumps(body).encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "text/plain; charset=utf-8" if text else "application/json"
    url = credentials["url"]
    if params.get("path"):
        parts = urlsplit(url)
        path = parts.path.rstrip("/") + "/" + params["path"].lstrip("/")
        url = urlunsplit(parts._replace(path=path))
    query = {k: _query_value(v) for k, v in (params.get("query") or {}).items()}
    return HttpMessage(method, _with_query(url, query) if query else url, headers, content)


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _with_query(url: str, added: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in added]
    return urlunsplit(parts._replace(query=urlencode([*query, *added.items()])))


def answer_of(
    kind: ToolKind, status: int, headers: Mapping[str, str], body: str, now: datetime
) -> Answer:
    """What ``status`` and ``body`` from a ``kind`` tool's service mean; ``now`` dates a
    Retry-After given as a date."""
    service = SERVICES[kind]
    if 200 <= status < 300:
        if kind is ToolKind.SLACK and not _slack_ok(body):
            return Answer(False, False, error=f"Slack answered {status} but not ok: {body[:200]}")
        return Answer(True, False)
    wait = None
    if status in (429, 503):
        wait = retry_after(headers.get("retry-after"), now)
        if wait is None and kind is ToolKind.DISCORD:
            wait = _discord_retry_after(body)
    said = f": {body.strip()[:200]}" if body.strip() else ""
    if status in (408, 429) or status >= 500:
        why = "is too busy" if status == 429 else "failed"
        return Answer(
            False, True, wait, f"{service} {why} ({status}){said}; it will be tried again"
        )
    if 300 <= status < 400:
        hint = "tool requests do not follow redirects: give the tool the URL it redirects to"
        return Answer(False, False, error=f"{service} answered {status} (a redirect): {hint}")
    hint = {
        401: "check the tool's credentials",
        403: "check the tool's credentials",
        404: "the webhook may have been deleted: give the tool its new URL",
        410: "the webhook or its channel is gone: give the tool a new URL",
    }.get(status, "check the message's params")
    return Answer(False, False, error=f"{service} refused the message ({status}){said}; {hint}")


def _slack_ok(body: str) -> bool:
    text = body.strip()
    if text in ("", "ok"):
        return True
    try:
        answer = json.loads(text)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("ok") is True


def _discord_retry_after(body: str) -> float | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    seconds = answer.get("retry_after") if isinstance(answer, dict) else None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return _bounded(float(seconds))
    return None


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within
    0..``RETRY_AFTER_MAX``; None if there is none or it does not parse."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return _bounded(seconds)


def _bounded(seconds: float) -> float | None:
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)
