"""The caller's variables: the values its scripts keep between runs, by key; secrets among
them are never listed, only revealed to their owner."""

from __future__ import annotations

from fastapi import APIRouter, status

from cronium.api.deps import ServiceDep, UserDep
from cronium.api.schemas import ErrorBody
from cronium.api.variable_schemas import VariablePublic, VariableWrite

router = APIRouter(
    prefix="/variables",
    tags=["variables"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.get("")
async def list_variables(user: UserDep, service: ServiceDep) -> list[VariablePublic]:
    """Every unexpired variable of the caller, by key; a secret's value is null."""
    return [VariablePublic.of(found) for found in await service.variables.list(user)]


@router.get("/{key}")
async def get_variable(key: str, user: UserDep, service: ServiceDep) -> VariablePublic:
    """One variable; an expired one is not found, a secret's value is null."""
    return VariablePublic.of(await service.variables.get(user, key))


@router.put("/{key}")
async def set_variable(
    key: str, body: VariableWrite, user: UserDep, service: ServiceDep
) -> VariablePublic:
    """Create or replace a variable (any JSON value); its scripts see it at once. Fields left
    out keep their stored values; the value must satisfy the variable's schema (422 naming
    the path and the reason otherwise, and nothing is written)."""
    change = body.change(service.variables.clock())
    return VariablePublic.of(await service.variables.set(user, key, change))


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_variable(key: str, user: UserDep, service: ServiceDep) -> None:
    await service.variables.delete(user, key)


@router.post("/{key}/reveal", responses={403: {"model": ErrorBody}})
async def reveal_variable(key: str, user: UserDep, service: ServiceDep) -> VariablePublic:
    """A secret with its value, for its owner only; every reveal is audited."""
    return VariablePublic.of(await service.variables.reveal(user, key))
