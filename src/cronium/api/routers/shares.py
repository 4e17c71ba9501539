"""Sharing an event or a workflow with other users, as viewer or operator (its owner)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from cronium.api.deps import Id, ServiceDep, UserDep
from cronium.api.schemas import ErrorBody, ShareIn, SharePublic

router = APIRouter(
    tags=["sharing"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
UserNamePath = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/events/{event_id}/shares")
async def list_shares(event_id: Id, user: UserDep, service: ServiceDep) -> list[SharePublic]:
    """Who else may see (viewer) or also run (operator) the event."""
    return [SharePublic.of(s) for s in await service.sharing.shares(user, event_id)]


@router.put("/events/{event_id}/shares", responses={422: {"model": ErrorBody}})
async def share(
    event_id: Id, body: ShareIn, user: UserDep, service: ServiceDep
) -> list[SharePublic]:
    """Share the event (or workflow) with a user; replaces an earlier share with them."""
    shares = await service.sharing.share(user, event_id, body.user, body.role)
    return [SharePublic.of(s) for s in shares]


@router.delete("/events/{event_id}/shares/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def unshare(event_id: Id, name: UserNamePath, user: UserDep, service: ServiceDep) -> None:
    await service.sharing.unshare(user, event_id, name)
