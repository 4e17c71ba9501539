"""``cronium server``: the API and a worker in one process, on the embedded defaults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import uvicorn

from cronium.api import create_app
from cronium.errors import SandboxUnavailableError
from cronium.runtime.app import RuntimeLimits
from cronium.runtime.server import RuntimeServer
from cronium.sandbox import create_backend
from cronium.service import IssuedToken, Service
from cronium.settings import Settings
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker

log = logging.getLogger(__name__)

INSECURE_WARNING = (
    "CRONIUM_SANDBOX=local-insecure: scripts run as plain subprocesses of this server, with its "
    "user, its files and the network, and no limits. Use it only for development with trusted "
    "scripts."
)


def announce_admin(token: IssuedToken, say: Callable[[str], None]) -> None:
    say(
        "\n"
        "Created the administrator 'admin'. Its API token is shown this once; keep it:\n\n"
        f"    export CRONIUM_TOKEN={token.secret}\n"
    )


def build_worker(settings: Settings, store: Store) -> tuple[Worker | None, str]:
    """A worker on the configured backend, or None and the reason it cannot run scripts."""
    try:
        backend = create_backend(settings.sandbox)
    except SandboxUnavailableError as exc:
        log.error("scripts will not run: %s", exc)
        return None, f"not running: {exc}"
    if backend.name == "local-insecure":
        log.warning(INSECURE_WARNING)
    worker = Worker(
        store,
        backend,
        concurrency=settings.worker_concurrency,
        poll_interval=settings.worker_poll_interval,
        output_cap_bytes=settings.output_cap_bytes,
        allow_egress=settings.allow_egress,
        runtime=build_runtime(settings),
    )
    return worker, f"running on the {backend.name} backend"


def build_runtime(settings: Settings) -> RuntimeServer:
    """The worker's runtime API server (not started)."""
    key = settings.secret_key.get_secret_value().encode() if settings.secret_key else None
    limits = RuntimeLimits(
        max_payload_bytes=settings.runtime_max_payload,
        calls_per_minute=settings.runtime_rate_limit,
    )
    return RuntimeServer(settings.database_url_value, limits=limits, key=key)


async def serve(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Migrate the database, then serve the API and run a worker until interrupted."""
    engine = create_engine(settings.database_url_value)
    try:
        await migrate(engine)
        store = Store(engine)
        service = Service(store, allow_egress=settings.allow_egress)
        created = await service.bootstrap_admin()
        if created is not None:
            announce_admin(created[1], say)
        worker, worker_status = build_worker(settings, store)
        if worker is not None:
            service.notify_on_enqueue(worker.wake)
        app = create_app(service, worker_status=worker_status)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=settings.log_level
        )
        await _serve_with_worker(uvicorn.Server(config), worker)
    finally:
        await engine.dispose()


async def _serve_with_worker(server: uvicorn.Server, worker: Worker | None) -> None:
    stop = asyncio.Event()
    runtime = worker.runtime if worker is not None else None
    if runtime is not None:
        await asyncio.to_thread(runtime.start)
    working = asyncio.create_task(worker.run(stop)) if worker is not None else None
    try:
        await server.serve()
    finally:
        stop.set()
        if working is not None:
            await working
        if runtime is not None:
            await asyncio.to_thread(runtime.stop)
