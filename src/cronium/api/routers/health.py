"""Liveness and readiness probes, and the Prometheus metrics.

All three are open, with no token: the probes of an orchestrator and the scrapes of Prometheus
come without one, and they tell no user's data (counts, durations, ids of no execution or
event). Who may reach them is the business of the address the API listens on
(``CRONIUM_HOST``) and of the network in front of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from cronium.errors import CroniumError
from cronium.metrics import exposition
from cronium.service import utcnow
from cronium.storage import Store
from cronium.storage.database import ping
from cronium.supervision import Health

router = APIRouter(tags=["health"])

PROBE_EVERY_SECONDS = 1.0


@dataclass
class WriteProbe:
    """Whether the database takes writes: one tiny write, at most once a second, however
    often /readyz is asked."""

    store: Store
    checked: float = float("-inf")
    error: str | None = None

    async def failure(self) -> str | None:
        """None if the last probe wrote; else why it could not."""
        if time.monotonic() - self.checked >= PROBE_EVERY_SECONDS:
            try:
                await self.store.probe_writes(utcnow())
                self.error = None
            except Exception as exc:  # any failure means writes do not work
                self.error = str(exc)
            self.checked = time.monotonic()
        return self.error


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers and takes writes, and this process's loops work; whether it"
    " runs scripts",
    responses={
        503: {"description": "The database, its writes or one of the loops fail (the body says)."}
    },
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
    probe: WriteProbe = request.app.state.write_probe
    refused = await probe.failure()
    failing = [name for name, loop in loops.loops.items() if not loop.ok]
    writes = "ok"
    if refused is not None:
        writes = f"failing: {refused}"
    elif loops.storage_failing:
        writes = "failing: " + "; ".join(
            f"{loop.name}: {loop.last_error}"
            for loop in loops.loops.values()
            if loop.storage_failing
        )
    unready = bool(failing) or writes != "ok"
    body |= {"status": "unavailable" if unready else "ok", "database": "ok", "writes": writes}
    return JSONResponse(body, status_code=503 if unready else 200)


@router.get(
    "/metrics",
    summary="Cronium's metrics, in the Prometheus text format (see docs/metrics.md)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request) -> Response:
    store: Store = request.app.state.service.store
    return Response(await exposition(store, utcnow()), media_type=CONTENT_TYPE_LATEST)
