"""Browser sessions: log in with a name and a password, log out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from starlette.datastructures import Headers

from cronium.api.auth import (
    clear_session_cookies,
    client_address,
    session_cookie,
    set_session_cookies,
)
from cronium.api.deps import ServiceDep
from cronium.api.schemas import ErrorBody, LoginAnswer, LoginIn, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    responses={
        401: {"model": ErrorBody, "description": "The name or the password is wrong."},
        429: {"model": ErrorBody, "description": "Too many failures in a row: wait."},
    },
)
async def login(
    body: LoginIn, request: Request, response: Response, service: ServiceDep
) -> LoginAnswer:
    """Open a browser session: sets the HttpOnly session cookie and the CSRF cookie. After a
    few failures in a row (per account and per address) each try must wait, doubling."""
    opened = await service.accounts.login(body.name, body.password, client_address(request.scope))
    secure: bool = request.app.state.cookie_secure
    set_session_cookies(
        response, opened.cookie, opened.csrf_token, opened.expires_at, secure=secure
    )
    return LoginAnswer(
        user=UserPublic.of(opened.user), csrf_token=opened.csrf_token, expires_at=opened.expires_at
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, service: ServiceDep) -> None:
    """End the browser session of the cookie sent, if any, and clear its cookies."""
    cookie = session_cookie(Headers(scope=request.scope))
    if cookie is not None:
        await service.accounts.logout(cookie)
    clear_session_cookies(response, secure=request.app.state.cookie_secure)
