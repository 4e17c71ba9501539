"""Checks of the single values in tools' credentials and params: objects with known fields,
strings, URLs, hosts, headers and address lists. Each returns the value to keep, or raises
InvalidInputError naming the field (``credentials.port``, ``params.to``) and how to fix it;
none repeats a value that may be a secret (a URL, a header's value)."""

from __future__ import annotations

import re
from email.errors import MessageError
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

from cronium.domain.http import HEADER_NAME, HEADERS_MAX, URL_MAX
from cronium.errors import InvalidInputError
from cronium.templates import is_template

RECIPIENTS_MAX = 100
HEADER_VALUE_MAX = 8192
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def fields_of(values: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    """``values``, an object whose fields are all in ``allowed``."""
    if not isinstance(values, dict):
        raise InvalidInputError(f"{where} must be an object with {', '.join(allowed)}")
    for name in values:
        if name not in allowed:
            raise InvalidInputError(
                f"{where}.{str(name)[:64]} is not a field here: the fields are {', '.join(allowed)}"
            )
    return values


def string(value: Any, where: str, limit: int, *, line: bool = True) -> str:
    """A string of at most ``limit`` characters, on one ``line`` unless told otherwise."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{where} must be a string")
    if len(value) > limit:
        raise InvalidInputError(f"{where} is longer than {limit} characters: shorten it")
    if line and ("\r" in value or "\n" in value or "\0" in value):
        raise InvalidInputError(f"{where} must be one line, without line breaks")
    return value


def url(value: Any, where: str) -> str:
    """An http(s) URL with a host; never repeated in the message (it may hold a token)."""
    text = string(value, where, URL_MAX).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", text):
        raise InvalidInputError(
            f"{where} must be an http:// or https:// URL with a host, as the service gives it"
        )
    if "@" in parts.netloc:
        raise InvalidInputError(
            f"{where} holds a user and password before its host: give them as a header "
            "(Authorization) of a webhook tool instead"
        )
    return text


def host(value: Any, where: str) -> str:
    """A host name or an IP address (without brackets)."""
    name = string(value, where, 253).strip().strip("[]")
    if not _HOST.fullmatch(name) and ":" not in name:
        raise InvalidInputError(
            f"{where} must be a host name or an IP address, like smtp.example.com"
        )
    return name


def headers(value: Any, where: str) -> dict[str, str]:
    """HTTP headers to send: valid names, one-line values, none the request sets itself."""
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} must be an object of header names and values")
    if len(value) > HEADERS_MAX:
        raise InvalidInputError(f"{where} has more than {HEADERS_MAX} headers")
    for name, text in value.items():
        if not HEADER_NAME.fullmatch(str(name)):
            raise InvalidInputError(f"{where}: {str(name)[:64]!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise InvalidInputError(f"{where}.{name} is set by the request itself: remove it")
        given = string(text, f"{where}.{name}", HEADER_VALUE_MAX)
        if not given.isascii() or not given.isprintable() or given != given.strip():
            raise InvalidInputError(
                f"{where}.{name}: a header value is printable ASCII, without blanks around it"
            )
    return dict(value)


def address_list(value: Any, where: str, *, lenient: bool = False) -> list[str]:
    """The addresses of ``value`` (a string of comma-separated addresses, or a list of such
    strings), each as ``Name <a@example.com>`` or ``a@example.com``; templated strings kept
    as they are when ``lenient``."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidInputError(f"{where} must be a string of addresses or a list of them")
    addresses: list[str] = []
    for item in items:
        string(item, where, 64 * 1024)
        addresses.extend([item] if lenient and is_template(item) else _parsed(item, where))
    if len(addresses) > RECIPIENTS_MAX:
        raise InvalidInputError(f"{where} has more than {RECIPIENTS_MAX} addresses")
    return addresses


def _parsed(text: str, where: str) -> list[str]:
    found = []
    for name, spec in getaddresses([text]):
        try:
            if spec.count("@") != 1 or "\r" in text or "\n" in text:
                raise ValueError(spec)
            found.append(str(Address(display_name=name, addr_spec=spec)))
        except (ValueError, IndexError, MessageError):
            raise InvalidInputError(
                f"the address list in {where} does not parse: {text[:200]!r} (write addresses"
                " like a@example.com or Name <a@example.com>, separated by commas)"
            ) from None
    if not found and text.strip():
        raise InvalidInputError(f"the address list in {where} does not parse: {text[:200]!r}")
    return found
