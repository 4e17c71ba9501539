"""Who is calling: an API token (``Authorization: Bearer``) or a browser session (the
``cronium_session`` cookie, with the ``X-CSRF-Token`` header on every request that changes
something). One function answers for the request-bounds middleware and for the routes.

The session cookie is HttpOnly and SameSite=Strict; the CSRF token is also set in a cookie the
web UI can read (``cronium_csrf``) and must come back in the header: a page of another site can
make the browser send the cookie, but cannot read it to set the header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import Response
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import Scope

from cronium.domain.user import User
from cronium.errors import AuthenticationError
from cronium.service import Service

SESSION_COOKIE = "cronium_session"
CSRF_COOKIE = "cronium_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NEEDS_CREDENTIALS = (
    "this endpoint needs an API token (send the header 'Authorization: Bearer <token>') or a "
    "session (log in with POST /api/v1/auth/login)"
)

Authenticate = Callable[[Scope], Awaitable[User]]


def authenticator(service: Service) -> Authenticate:
    """The caller of an ASGI request's scope; AuthenticationError (401) without a usable
    credential, PermissionDeniedError (403) for a session write without its CSRF token."""

    async def authenticate(scope: Scope) -> User:
        headers = Headers(scope=scope)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return await service.accounts.authenticate(token.strip())
        if scheme:
            raise AuthenticationError(NEEDS_CREDENTIALS)
        cookie = session_cookie(headers)
        if cookie is None:
            raise AuthenticationError(NEEDS_CREDENTIALS)
        return await service.accounts.authenticate_session(
            cookie, headers.get(CSRF_HEADER), writes=scope["method"] not in SAFE_METHODS
        )

    return authenticate


def session_cookie(headers: Headers) -> str | None:
    return cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE) or None


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return None if not client else str(client[0])[:64]


def set_session_cookies(
    response: Response, cookie: str, csrf: str, expires_at: datetime, *, secure: bool
) -> None:
    common = {"path": "/", "samesite": "strict", "secure": secure, "expires": expires_at}
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="strict", secure=secure)
