"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from cronium import __version__
from cronium.api.auth import authenticator
from cronium.api.errors import install_error_handlers
from cronium.api.limits import WEBHOOK_MAX_BODY, BoundedRequests, Bounds
from cronium.api.routers import (
    audit,
    auth,
    events,
    executions,
    health,
    shares,
    tokens,
    tools,
    users,
    variables,
    workers,
    workflows,
)
from cronium.api.routers.health import WriteProbe
from cronium.api.schemas import ErrorBody
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH
from cronium.service import Service
from cronium.supervision import Health
from cronium.web import WebApp, install_web_app

API_PREFIX = "/api/v1"
HOOKS = f"{API_PREFIX}/hooks/"
AUTH = f"{API_PREFIX}/auth/"


def create_app(
    service: Service,
    *,
    worker_status: str = "not running in this process",
    loops: Health | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    cookie_secure: bool = False,
    web: WebApp | None = None,
) -> FastAPI:
    """The REST API over ``service``, and the web UI (``web``, by default the package's
    build). ``worker_status`` and the health of the process's
    supervised ``loops`` are reported by /readyz. Request bodies are bounded (see
    api/limits.py), JSON to ``max_depth`` levels."""
    app = FastAPI(
        title="Cronium",
        version=__version__,
        description="Run Bash, Python and Node.js scripts in sandboxes.",
    )
    app.state.service = service
    app.state.cookie_secure = cookie_secure
    app.state.worker_status = worker_status
    app.state.loops = loops or Health()
    app.state.write_probe = WriteProbe(service.store)
    install_error_handlers(app)
    # what any operation may answer: bad input, the database away, a bug (see api/errors.py)
    api = APIRouter(
        prefix=API_PREFIX,
        responses={
            422: {
                "model": ErrorBody,
                "description": "The request is not valid (the body says why).",
            },
            500: {"model": ErrorBody, "description": "An internal error (logged by the server)."},
            503: {"model": ErrorBody, "description": "The database is unavailable."},
        },
    )
    modules = (auth, audit, events, shares, executions, tokens, tools, users, variables, workers)
    for module in (*modules, workflows):
        api.include_router(module.router)
    api.include_router(events.schedules)
    api.include_router(executions.queue)
    api.include_router(events.hooks)
    app.include_router(api)
    app.include_router(health.router)
    install_web_app(app, web)  # last: it answers the paths no route has
    app.add_middleware(
        BoundedRequests,
        Bounds(
            max_depth=max_depth,
            body_caps=((HOOKS, WEBHOOK_MAX_BODY),),
            open_paths=(HOOKS, AUTH),
        ),
        protected=API_PREFIX,
        authenticate=authenticator(service),
    )
    return app
