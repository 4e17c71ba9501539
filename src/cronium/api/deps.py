"""Dependencies shared by the routers: the service, and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cronium.domain.user import User
from cronium.errors import AuthenticationError
from cronium.service import Service

bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer crn_...`")


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def current_user(
    request: Request,
    service: Annotated[Service, Depends(get_service)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    known: User | None = getattr(request.state, "cronium_user", None)
    if known is not None:  # authenticated before its body was read (see api/limits.py)
        return known
    if credentials is None:
        raise AuthenticationError(
            "this endpoint needs an API token: send the header 'Authorization: Bearer <token>'"
        )
    return await service.authenticate(credentials.credentials)


ServiceDep = Annotated[Service, Depends(get_service)]
UserDep = Annotated[User, Depends(current_user)]

# Ids are 64-bit signed integers on every database: anything past them is a 422, not a 500.
MAX_ID = 2**63 - 1
MAX_SEQ = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id: 1 to 2^63 - 1.")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_SEQ, description="A version: 1 to 2^31 - 1.")]
