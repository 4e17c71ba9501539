"""Executions: one run of an event, with its result and its log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cronium.api.deps import MAX_ID, MAX_SEQ, Id, ServiceDep, UserDep
from cronium.api.schemas import ErrorBody, ExecutionPublic, LogLinePublic

router = APIRouter(
    prefix="/executions",
    tags=["executions"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.get("")
async def list_executions(
    user: UserDep,
    service: ServiceDep,
    event_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this event's executions.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ExecutionPublic]:
    """Newest first."""
    executions = await service.list_executions(user, event_id=event_id, limit=limit)
    return [ExecutionPublic.of(execution) for execution in executions]


@router.get("/{execution_id}")
async def get_execution(execution_id: Id, user: UserDep, service: ServiceDep) -> ExecutionPublic:
    return ExecutionPublic.of(await service.get_execution(user, execution_id))


@router.post("/{execution_id}/cancel", responses={409: {"model": ErrorBody}})
async def cancel_execution(execution_id: Id, user: UserDep, service: ServiceDep) -> ExecutionPublic:
    """Cancel: a queued execution at once; a running one is stopped by its worker."""
    return ExecutionPublic.of(await service.cancel_execution(user, execution_id))


@router.get("/{execution_id}/logs")
async def get_logs(
    execution_id: Id,
    user: UserDep,
    service: ServiceDep,
    after: Annotated[
        int, Query(ge=-1, le=MAX_SEQ, description="Only lines after this sequence number.")
    ] = -1,
    limit: Annotated[
        int, Query(ge=1, le=100_000, description="At most this many lines (page with after).")
    ] = 100_000,
) -> list[LogLinePublic]:
    """The lines the script wrote on stdout and stderr, in order."""
    lines = await service.read_logs(user, execution_id, after_seq=after, limit=limit)
    return [LogLinePublic.of(line) for line in lines]
