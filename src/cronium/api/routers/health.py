"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cronium.errors import CroniumError
from cronium.storage.database import ping

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers; says whether this process runs scripts")
async def readyz(request: Request) -> JSONResponse:
    worker: str = request.app.state.worker_status
    try:
        await ping(request.app.state.service.store.engine)
    except (CroniumError, OSError, Exception) as exc:  # any failure means not ready
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {exc}", "worker": worker},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "worker": worker})
