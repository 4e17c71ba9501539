"""Users: the caller's own, and (for administrators) everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from cronium.api.deps import ServiceDep, UserDep
from cronium.api.schemas import ErrorBody, PasswordChange, UserChange, UserCreate, UserPublic

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
UserNamePath = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")]


@router.get("/me")
async def whoami(user: UserDep) -> UserPublic:
    return UserPublic.of(user)


@router.put("/me/password", responses={422: {"model": ErrorBody}})
async def change_my_password(
    body: PasswordChange, user: UserDep, service: ServiceDep
) -> UserPublic:
    """Set your password (give the current one, if you have one)."""
    changed = await service.accounts.set_password(
        user, user.name, body.password, current=body.current_password
    )
    return UserPublic.of(changed)


@router.get("")
async def list_users(user: UserDep, service: ServiceDep) -> list[UserPublic]:
    """Every user (administrators)."""
    return [UserPublic.of(u) for u in await service.accounts.list_users(user)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def create_user(body: UserCreate, user: UserDep, service: ServiceDep) -> UserPublic:
    """Create a user (administrators); without a password they use API tokens only."""
    created = await service.accounts.create_user(user, body.name, body.role, body.password)
    return UserPublic.of(created)


@router.get("/{name}", responses={404: {"model": ErrorBody}})
async def get_user(name: UserNamePath, user: UserDep, service: ServiceDep) -> UserPublic:
    return UserPublic.of(await service.accounts.get_user(user, name))


@router.patch(
    "/{name}",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def change_user(
    name: UserNamePath, body: UserChange, user: UserDep, service: ServiceDep
) -> UserPublic:
    """Change a user's role, password, or whether they are disabled (administrators).
    Disabling ends their sessions and stops their tokens at once."""
    accounts = service.accounts
    await service.policy.require_admin(user, "change users")
    changed = await accounts.get_user(user, name)
    if body.role is not None:
        changed = await accounts.set_role(user, name, body.role)
    if body.password is not None:
        changed = await accounts.set_password(user, name, body.password)
    if body.disabled is True:
        changed = await accounts.disable(user, name)
    elif body.disabled is False:
        changed = await accounts.enable(user, name)
    return UserPublic.of(changed)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def delete_user(name: UserNamePath, user: UserDep, service: ServiceDep) -> None:
    """Delete a user with all they own (administrators)."""
    await service.accounts.delete(user, name)
