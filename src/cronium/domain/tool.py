"""Tools: the services a user sends messages through, their credentials and their actions.

Everything is checked before it is stored or sent, with a message naming the field and how to
fix it (the single values in ``toolvalues``, each kind's params in ``toolparams``). A tool's
credentials are secret as a whole (a webhook URL carries its token in its path):
:func:`credentials_summary` is what may be shown, :func:`secret_values` what a log or an error
must never show.
"""

from __future__ import annotations

import enum
from typing import Any
from urllib.parse import unquote, urlsplit

from cronium.domain.toolparams import checked_params
from cronium.domain.toolvalues import address_list, fields_of, headers, host, string, url
from cronium.errors import InvalidInputError


class ToolKind(enum.StrEnum):
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS = "teams"
    EMAIL = "email"
    WEBHOOK = "webhook"


MESSAGE_KINDS = frozenset({ToolKind.SLACK, ToolKind.DISCORD, ToolKind.TEAMS})
ACTIONS: dict[ToolKind, tuple[str, ...]] = {
    **{kind: ("send_message",) for kind in MESSAGE_KINDS},
    ToolKind.EMAIL: ("send_email",),
    ToolKind.WEBHOOK: ("send",),
}
_ALIASES = {  # spellings, lowercased without '-' and '_'
    "send_message": {"sendmessage", "send", "message"},
    "send_email": {"sendemail", "send", "email"},
    "send": {"send", "request", "post", "call"},
}
TLS_MODES = ("starttls", "tls", "none")
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}
WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TOKEN_MIN = 16  # a URL's path segment this long may be its token on its own


def action_name(kind: ToolKind, action: str) -> str:
    """The canonical name of ``action`` (``sendMessage``, ``send-message``, ``send``...)."""
    if isinstance(action, str):
        key = action.strip().lower().replace("-", "").replace("_", "")
        for name in ACTIONS[kind]:
            if key in _ALIASES[name]:
                return name
    raise InvalidInputError(
        f"{kind} tools have no action {str(action)[:80]!r}: use {', '.join(ACTIONS[kind])}"
    )


def check_credentials(kind: ToolKind, values: Any) -> dict[str, Any]:
    """``values`` checked and normalised as the credentials of a ``kind`` tool."""
    if kind in MESSAGE_KINDS:
        fields = fields_of(values, ("webhook_url",), "credentials")
        if "webhook_url" not in fields:
            raise InvalidInputError(
                f"credentials.webhook_url is required: the {kind} webhook's URL"
            )
        return {"webhook_url": url(fields["webhook_url"], "credentials.webhook_url")}
    if kind is ToolKind.EMAIL:
        return _email_credentials(values)
    fields = fields_of(values, ("url", "method", "headers"), "credentials")
    method = fields.get("method", "POST")
    if not isinstance(method, str) or method.upper() not in WEBHOOK_METHODS:
        raise InvalidInputError(f"credentials.method must be one of {', '.join(WEBHOOK_METHODS)}")
    if "url" not in fields:
        raise InvalidInputError("credentials.url is required: the URL the webhook calls")
    return {
        "url": url(fields["url"], "credentials.url"),
        "method": method.upper(),
        "headers": headers(fields.get("headers", {}), "credentials.headers"),
    }


def _email_credentials(values: Any) -> dict[str, Any]:
    allowed = ("host", "port", "username", "password", "sender", "tls")
    fields = fields_of(values, allowed, "credentials")
    tls = fields.get("tls", "starttls")
    if tls not in TLS_MODES:
        raise InvalidInputError(f"credentials.tls must be one of {', '.join(TLS_MODES)}")
    port = fields.get("port", SMTP_PORTS[tls])
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInputError(
            "credentials.port must be a number from 1 to 65535 (usually 587 with starttls,"
            " 465 with tls, 25 with none)"
        )
    for name in ("host", "sender"):
        if name not in fields:
            raise InvalidInputError(f"credentials.{name} is required")
    username = fields.get("username") or None
    password = fields.get("password") or None
    if (username is None) != (password is None):
        raise InvalidInputError(
            "credentials.username and credentials.password go together: give both, or neither"
        )
    senders = address_list(fields["sender"], "credentials.sender")
    if len(senders) != 1:
        raise InvalidInputError("credentials.sender must be one address, like cron@example.com")
    return {
        "host": host(fields["host"], "credentials.host"),
        "port": port,
        "username": None if username is None else string(username, "credentials.username", 256),
        "password": None if password is None else string(password, "credentials.password", 1024),
        "sender": senders[0],
        "tls": tls,
    }


def credentials_summary(kind: ToolKind, values: dict[str, Any]) -> dict[str, Any]:
    """What may be shown of checked credentials: never a secret."""
    if kind in MESSAGE_KINDS:
        return {"host": _netloc(values["webhook_url"])}
    if kind is ToolKind.EMAIL:
        return {name: values.get(name) for name in ("host", "port", "username", "sender", "tls")}
    return {
        "method": values["method"],
        "url": f"{urlsplit(values['url']).scheme}://{_netloc(values['url'])}",
        "headers": sorted(values.get("headers", {})),
    }


def _netloc(url: str) -> str:
    """The host and port of ``url``, without any user and password."""
    return urlsplit(url).netloc.rpartition("@")[2]


def secret_values(kind: ToolKind, values: dict[str, Any]) -> list[str]:
    """The strings of credentials that a log or an error must never show."""
    if kind is ToolKind.EMAIL:
        return [values["password"]] if values.get("password") else []
    url = values["webhook_url"] if kind in MESSAGE_KINDS else values["url"]
    parts = urlsplit(url)
    found = [url, parts.path, parts.query, parts.netloc.rpartition("@")[0]]
    if parts.query:
        found.append(f"{parts.path}?{parts.query}")
    found += [segment for segment in parts.path.split("/") if len(segment) >= TOKEN_MIN]
    if kind is ToolKind.WEBHOOK:
        found += list(values.get("headers", {}).values())
    found += [unquote(text) for text in found]
    return sorted({text for text in found if len(text) >= 4 and text != "/"}, key=len)[::-1]


def check_params(
    kind: ToolKind, action: str, params: Any, *, rendered: bool = False, templates: bool = True
) -> dict[str, Any]:
    """``params`` checked as those of ``kind``'s ``action`` (canonical), before anything is
    sent. As written (``rendered`` false: saved, or given by a script) their templates are
    compiled (unless ``templates`` is false: a script's are sent as written); rendered, every
    string's form is checked (see ``toolparams``)."""
    if action not in ACTIONS[kind]:
        raise InvalidInputError(f"{kind} tools have no action {action!r}: use {ACTIONS[kind][0]}")
    return checked_params(kind.value, params, rendered=rendered, templates=templates)
