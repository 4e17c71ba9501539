"""The caller's variables: the values its scripts keep between runs, by key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from cronium.api.deps import ServiceDep, UserDep
from cronium.api.schemas import ErrorBody, VariableIn, VariablePublic

router = APIRouter(
    prefix="/variables",
    tags=["variables"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.get("")
async def list_variables(user: UserDep, service: ServiceDep) -> dict[str, Any]:
    """Every variable of the caller, by key."""
    return await service.variables.list(user)


@router.get("/{key}")
async def get_variable(key: str, user: UserDep, service: ServiceDep) -> VariablePublic:
    return VariablePublic(key=key, value=await service.variables.get(user, key))


@router.put("/{key}")
async def set_variable(
    key: str, body: VariableIn, user: UserDep, service: ServiceDep
) -> VariablePublic:
    """Create or replace a variable (any JSON value); its scripts see it at once."""
    await service.variables.set(user, key, body.value)
    return VariablePublic(key=key, value=body.value)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_variable(key: str, user: UserDep, service: ServiceDep) -> None:
    await service.variables.delete(user, key)
