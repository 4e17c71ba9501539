"""Dependencies shared by the routers: the service, and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from cronium.api.auth import SESSION_COOKIE, authenticator, client_address
from cronium.domain import audit
from cronium.domain.user import User
from cronium.service import Service

# declared for the OpenAPI document; api/auth.py reads the credentials themselves
bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer crn_...`")
session = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A browser session (POST /api/v1/auth/login); writes need X-CSRF-Token.",
)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def current_user(
    request: Request,
    service: Annotated[Service, Depends(get_service)],
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _session: Annotated[str | None, Depends(session)],
) -> User:
    audit.client_address.set(client_address(request.scope))
    known: User | None = getattr(request.state, "cronium_user", None)
    if known is not None:  # authenticated before its body was read (see api/limits.py)
        return known
    return await authenticator(service)(request.scope)


ServiceDep = Annotated[Service, Depends(get_service)]
UserDep = Annotated[User, Depends(current_user)]

# Ids are 64-bit signed integers on every database: anything past them is a 422, not a 500.
MAX_ID = 2**63 - 1
MAX_SEQ = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id: 1 to 2^63 - 1.")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_SEQ, description="A version: 1 to 2^31 - 1.")]
