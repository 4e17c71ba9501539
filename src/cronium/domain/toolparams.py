"""The params of each kind of tool's action: which fields, of which form, within the limits of
the service (Slack's, Discord's...), and what a message needs at least.

Params are checked twice. As written (saved with an event or an action, or given by a script),
their templates are compiled and a templated string's form (an address, a URL) is left for
later; once rendered, every string's form is checked, and message texts may be longer than the
service takes (they are cut when sent, see ``cronium.actions.messages``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from cronium.domain.http import HEADERS_MAX, URL_MAX
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH, check_json_depth
from cronium.domain.toolvalues import address_list, fields_of, headers, string, url
from cronium.errors import InvalidInputError
from cronium.templates import check_template, is_template

PARAMS_MAX = 256 * 1024
ATTACHMENTS_MAX = 1024 * 1024
ATTACHMENTS_COUNT = 20
_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")
_CONTENT_TYPE = re.compile(r"[\w.+-]{1,63}/[\w.+-]{1,63}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")

# A check takes (value, where, rendered) and gives the value to keep.
_Check = Callable[[Any, str, bool], Any]


def _text(limit: int, *, line: bool = False) -> _Check:
    """A string of at most ``limit`` characters as written; once rendered, longer text is
    taken (the message cuts it to the service's limit)."""
    return lambda value, where, rendered: string(
        value, where, PARAMS_MAX if rendered and not line else limit, line=line
    )


def _objects(limit: int) -> _Check:
    def check(value: Any, where: str, rendered: bool) -> list[Any]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise InvalidInputError(f"{where} must be a list of objects")
        if len(value) > limit:
            raise InvalidInputError(f"{where} has more than {limit} items")
        return value

    return check


def _formed(check: Callable[[Any, str], Any]) -> _Check:
    """``check`` of a string's form, left to the rendered value when it is a template."""

    def formed(value: Any, where: str, rendered: bool) -> Any:
        if not rendered and isinstance(value, str) and is_template(value):
            return string(value, where, URL_MAX)
        return check(value, where)

    return formed


def _of(kinds: type | tuple[type, ...], what: str) -> _Check:
    def check(value: Any, where: str, rendered: bool) -> Any:
        if not isinstance(value, kinds) or isinstance(value, bool) is not (kinds is bool):
            raise InvalidInputError(f"{where} must be {what}")
        return value

    return check


def _addresses(value: Any, where: str, rendered: bool) -> list[str]:
    return address_list(value, where, lenient=not rendered)


def _card(value: Any, where: str, rendered: bool) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("type") != "AdaptiveCard":
        raise InvalidInputError(
            f'{where} must be an Adaptive Card: an object with "type": "AdaptiveCard"'
        )
    return value


def _path(value: Any, where: str) -> str:
    text = string(value, where, URL_MAX)
    if not _PATH.fullmatch(text):
        raise InvalidInputError(f"{where} must be a URL path (letters, digits, / - . _ ~ % ...)")
    return text


def _query(value: Any, where: str, rendered: bool) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > HEADERS_MAX:
        raise InvalidInputError(
            f"{where} must be an object of at most {HEADERS_MAX} names and values"
        )
    for name, item in value.items():
        string(name, f"{where} (a name)", 256)
        if not isinstance(item, str | int | float | bool):
            raise InvalidInputError(f"{where}.{name} must be a string, a number or a boolean")
        if isinstance(item, str):
            string(item, f"{where}.{name}", URL_MAX)
    return value


def _attachments(value: Any, where: str, rendered: bool) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = _objects(ATTACHMENTS_COUNT)(value, where, rendered)
    total = 0
    for i, item in enumerate(checked):
        at = f"{where}[{i}]"
        fields_of(item, ("filename", "content", "content_base64", "content_type"), at)
        name = string(item.get("filename"), f"{at}.filename", 255)
        if not name.strip() or any(c in name for c in '/\\"'):
            raise InvalidInputError(f"{at}.filename must be a file name, without / \\ or quotes")
        if ("content" in item) == ("content_base64" in item):
            raise InvalidInputError(f"{at} needs content (text) or content_base64, not both")
        if "content_type" in item and not _CONTENT_TYPE.fullmatch(str(item["content_type"])):
            raise InvalidInputError(f"{at}.content_type must be a type like text/csv")
        text = string(
            item.get("content", item.get("content_base64")),
            f"{at}.content",
            2 * ATTACHMENTS_MAX,
            line=False,
        )
        if "content_base64" in item and not _BASE64.fullmatch(text) and not is_template(text):
            raise InvalidInputError(f"{at}.content_base64 is not base64")
        total += len(text) * 3 // 4 if "content_base64" in item else len(text.encode())
    if total > ATTACHMENTS_MAX:
        raise InvalidInputError(f"{where}: the attachments are over {ATTACHMENTS_MAX // 1024} KiB")
    return checked


_url_param = _formed(url)
PARAMS: dict[str, dict[str, _Check]] = {  # by tool kind
    "slack": {
        "text": _text(40_000),
        "blocks": _objects(50),
        "channel": _text(200, line=True),
        "username": _text(200, line=True),
        "icon_emoji": _text(100, line=True),
        "icon_url": _url_param,
        "thread_ts": _text(64, line=True),
    },
    "discord": {
        "content": _text(2000),
        "embeds": _objects(10),
        "username": _text(80, line=True),
        "avatar_url": _url_param,
        "channel_id": _of((str, int), "a channel's id"),
        "tts": _of(bool, "true or false"),
    },
    "teams": {"text": _text(28_000), "title": _text(1000, line=True), "card": _card},
    "email": {
        **dict.fromkeys(("to", "cc", "bcc", "reply_to"), _addresses),
        "subject": _text(998, line=True),
        "body": _text(PARAMS_MAX),
        "html": _text(PARAMS_MAX),
        "attachments": _attachments,
    },
    "webhook": {
        "body": lambda value, where, rendered: value,
        "headers": lambda value, where, rendered: headers(value, where),
        "path": _formed(_path),
        "query": _query,
    },
}
NEEDS = {  # a message needs one of these, not empty
    "slack": ("text", "blocks"),
    "discord": ("content", "embeds"),
    "teams": ("text", "card"),
}


def checked_params(
    kind: str, params: Any, *, rendered: bool, templates: bool = True
) -> dict[str, Any]:
    """``params`` checked as those of a ``kind`` tool's action (see the module's docstring);
    ``templates`` false: strings are sent as written (a script's), none is compiled."""
    spec = PARAMS[kind]
    fields = fields_of(params, tuple(spec), "params")
    _check_size(fields)  # attachments apart: they have their own limit
    if not rendered and templates:
        _check_templates(fields, "params")
    checked = {
        name: spec[name](value, f"params.{name}", rendered) for name, value in fields.items()
    }
    needs = NEEDS.get(kind)
    if needs and not any(checked.get(name) for name in needs):
        raise InvalidInputError(f"a {kind} message needs params.{' or params.'.join(needs)}")
    if kind == "email":
        if not any(checked.get(name) for name in ("to", "cc", "bcc")):
            raise InvalidInputError("an email needs a recipient: params.to (or cc, bcc)")
        if not checked.get("subject"):
            raise InvalidInputError("an email needs params.subject")
        if not (checked.get("body") or checked.get("html")):
            raise InvalidInputError("an email needs params.body (text) or params.html")
    return checked


def _check_size(params: dict[str, Any]) -> None:
    check_json_depth(params, DEFAULT_MAX_DEPTH, "params")
    measured = {name: value for name, value in params.items() if name != "attachments"}
    try:
        size = len(json.dumps(measured, allow_nan=False).encode())
    except (TypeError, ValueError):
        raise InvalidInputError("params must be JSON (objects, lists, strings, numbers)") from None
    if size > PARAMS_MAX:
        raise InvalidInputError(f"params are over {PARAMS_MAX // 1024} KiB as JSON: shorten them")


def _check_templates(value: Any, where: str) -> None:
    if isinstance(value, str) and is_template(value):
        check_template(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_templates(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_templates(item, f"{where}[{i}]")
