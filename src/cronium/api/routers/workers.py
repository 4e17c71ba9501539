"""Workers: who runs executions, and whether they are alive."""

from __future__ import annotations

from fastapi import APIRouter

from cronium.api.deps import ServiceDep, UserDep
from cronium.api.schemas import ErrorBody, WorkerPublic

router = APIRouter(
    prefix="/workers",
    tags=["workers"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


@router.get("")
async def list_workers(user: UserDep, service: ServiceDep) -> list[WorkerPublic]:
    """Every worker that registered: host, backend, tags, capacity, running, last heartbeat."""
    now = service.clock()
    return [WorkerPublic.of(worker, now) for worker in await service.list_workers(user)]
