"""HTTP-request events: one request, made by a worker, whose response becomes the run's output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cronium.errors import InvalidInputError

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
URL_MAX = 2048
HEADERS_MAX = 50
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The request an HTTP-request event makes.

    ``body``: a string is sent as it is; any other JSON value is sent as JSON. Without a body,
    a run's input (when it has one) is sent as JSON, so an action or a webhook can feed it.
    ``fail_on_status``: whether a 4xx or 5xx response fails the run.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    fail_on_status: bool = True

    def check(self) -> None:
        """InvalidInputError saying what is wrong, if anything."""
        if self.method not in METHODS:
            raise InvalidInputError(
                f"http.method: {self.method!r} is not supported; use one of {', '.join(METHODS)}"
            )
        if len(self.url) > URL_MAX:
            raise InvalidInputError(f"http.url: at most {URL_MAX} characters")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(
                f"http.url: {self.url!r} is not an http:// or https:// URL with a host"
            )
        if len(self.headers) > HEADERS_MAX:
            raise InvalidInputError(f"http.headers: at most {HEADERS_MAX} headers")
        for name, value in self.headers.items():
            if not HEADER_NAME.match(name):
                raise InvalidInputError(f"http.headers: {name!r} is not a valid header name")
            if "\r" in value or "\n" in value:
                raise InvalidInputError(f"http.headers: the value of {name!r} has a line break")
        if self.method in ("GET", "HEAD") and self.body is not None:
            raise InvalidInputError(f"http.body: a {self.method} request has no body")

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body": self.body,
            "fail_on_status": self.fail_on_status,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HttpRequest:
        return cls(
            method=str(data["method"]),
            url=str(data["url"]),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            body=data.get("body"),
            fail_on_status=bool(data.get("fail_on_status", True)),
        )
