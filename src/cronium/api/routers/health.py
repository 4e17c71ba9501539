"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cronium.errors import CroniumError
from cronium.storage.database import ping
from cronium.supervision import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers and this process's loops work; whether it runs scripts",
    responses={503: {"description": "The database or one of the loops fails (see the body)."}},
)
async def readyz(request: Request) -> JSONResponse:
    worker: str = request.app.state.worker_status
    loops: Health = request.app.state.loops
    body: dict[str, Any] = {"worker": worker, "loops": loops.report()}
    try:
        await ping(request.app.state.service.store.engine)
    except (CroniumError, OSError, Exception) as exc:  # any failure means not ready
        body |= {"status": "unavailable", "database": f"unreachable: {exc}"}
        return JSONResponse(body, status_code=503)
    failing = [name for name, loop in loops.loops.items() if not loop.ok]
    body |= {
        "status": "unavailable" if failing else "ok",
        "database": "ok",
        "writes": "failing" if loops.storage_failing else "ok",
    }
    return JSONResponse(body, status_code=503 if failing else 200)
