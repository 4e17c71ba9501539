"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from cronium import __version__
from cronium.api.errors import install_error_handlers
from cronium.api.routers import events, executions, health, tokens, workers, workflows
from cronium.service import Service
from cronium.supervision import Health

API_PREFIX = "/api/v1"


def create_app(
    service: Service,
    *,
    worker_status: str = "not running in this process",
    loops: Health | None = None,
) -> FastAPI:
    """The REST API over ``service``. ``worker_status`` and the health of the process's
    supervised ``loops`` are reported by /readyz."""
    app = FastAPI(
        title="Cronium",
        version=__version__,
        description="Run Bash, Python and Node.js scripts in sandboxes.",
    )
    app.state.service = service
    app.state.worker_status = worker_status
    app.state.loops = loops or Health()
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (events, executions, tokens, workers, workflows):
        api.include_router(module.router)
    api.include_router(events.schedules)
    api.include_router(events.hooks)
    app.include_router(api)
    app.include_router(health.router)
    return app
