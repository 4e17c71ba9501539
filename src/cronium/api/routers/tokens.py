"""The caller's own API tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from cronium.api.deps import Id, ServiceDep, UserDep
from cronium.api.schemas import ErrorBody, TokenCreate, TokenIssued, TokenPublic

router = APIRouter(
    tags=["tokens"], responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}}
)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, user: UserDep, service: ServiceDep) -> TokenIssued:
    """A new token for the caller. Its secret is in this answer only."""
    expires_in = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
    scopes = None if body.scopes is None else frozenset(body.scopes)
    issued = await service.accounts.issue_token(
        user, name=body.name, expires_in=expires_in, scopes=scopes
    )
    return TokenIssued(**TokenPublic.of(issued.token).model_dump(), token=issued.secret)


@router.get("/tokens")
async def list_tokens(user: UserDep, service: ServiceDep) -> list[TokenPublic]:
    return [TokenPublic.of(token) for token in await service.accounts.list_tokens(user)]


@router.delete("/tokens/{token_id}", responses={404: {"model": ErrorBody}})
async def revoke_token(token_id: Id, user: UserDep, service: ServiceDep) -> TokenPublic:
    """Revoke a token: it stops working at once."""
    return TokenPublic.of(await service.accounts.revoke_token(user, token_id))
