"""The processes Cronium runs as: ``server`` (every role in one), ``api``, ``worker``,
``scheduler``. Each migrates the database first (one at a time on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import uvicorn

from cronium.accounts import AccountRules, FirstAdmin
from cronium.api.access import AccessLog
from cronium.api.app import create_app
from cronium.crypto import Keyring
from cronium.delivery import Sender
from cronium.errors import SandboxUnavailableError
from cronium.keys import check_keys, keyring_for
from cronium.logs import fields
from cronium.metrics import metrics_app
from cronium.retention import retention_chore
from cronium.runtime.app import RuntimeLimits
from cronium.runtime.server import RuntimeServer
from cronium.sandbox import create_backend
from cronium.sandbox.host import StateDir
from cronium.scheduler import Scheduler
from cronium.service import Service, utcnow
from cronium.settings import Settings, WorkerSettings
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from cronium.supervision import Health
from cronium.web import DIST, WebApp
from cronium.worker import Worker

log = logging.getLogger(__name__)

INSECURE_WARNING = (
    "CRONIUM_SANDBOX=local-insecure: scripts run as plain subprocesses of this server, with its "
    "user, its files and the network, and no limits. Use it only for development with trusted "
    "scripts."
)
Say = Callable[[str], None]


def announce_admin(admin: FirstAdmin, url: str, say: Say) -> None:
    say(
        "\n"
        f"Created the administrator {admin.user.name!r}. Its API token and first password are "
        "shown this once; keep them:\n\n"
        f"    export CRONIUM_TOKEN={admin.token.secret}\n\n"
        f"    web UI: {url}  name: {admin.user.name}  password: {admin.password}\n"
        "    (change the password on the web UI's Account page, or with "
        f"`cronium users set-password {admin.user.name}`)\n"
    )


def build_worker(settings: Settings, store: Store) -> tuple[Worker | None, str]:
    """A worker on the configured backend, or None and the reason it cannot run scripts."""
    try:
        backend = create_backend(
            settings.sandbox, state_dir=settings.state_dir, uids=settings.sandbox_uids
        )
    except SandboxUnavailableError as exc:
        log.error("scripts will not run: %s", exc)
        return None, f"not running: {exc}"
    if backend.name == "local-insecure":
        log.warning(INSECURE_WARNING)
    worker = Worker(
        store,
        backend,
        WorkerSettings.from_settings(settings),
        runtime=build_runtime(settings, store.keyring),
    )
    return worker, f"running on the {backend.name} backend"


def build_runtime(settings: Settings, keyring: Keyring | None = None) -> RuntimeServer:
    """The worker's runtime API server (not started); ``keyring`` decrypts the secrets scripts
    read. Its execution tokens are signed with a key of its own: only it checks them."""
    limits = RuntimeLimits(
        max_payload_bytes=settings.runtime_max_payload,
        calls_per_minute=settings.runtime_rate_limit,
    )
    state = StateDir(settings.state_dir, group=settings.sandbox_uids.group)
    worker = WorkerSettings.from_settings(settings)
    return RuntimeServer(
        settings.database_url_value,
        limits=limits,
        keyring=keyring,
        state=state,
        max_depth=settings.json_max_depth,
        egress=worker.egress,
        delivery=worker.delivery,
    )


@asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[Store]:
    """The migrated database of the settings, for the time of the block."""
    keyring = keyring_for(settings)
    engine = create_engine(settings.database_url_value)
    try:
        await migrate(engine)
        store = Store(engine, keyring)
        await check_keys(store)
        yield store
    finally:
        await engine.dispose()


def service_for(settings: Settings, store: Store) -> Service:
    """The service over ``store``, with the settings' rules."""
    rules = AccountRules(
        session_idle=timedelta(hours=settings.session_hours),
        session_max=timedelta(days=settings.session_max_days),
        login_attempts=settings.login_attempts,
    )
    worker = WorkerSettings.from_settings(settings)
    sender = Sender(store, worker.egress, worker.delivery, utcnow)
    return Service(store, allow_egress=settings.allow_egress, rules=rules, sender=sender)


def chores_for(settings: Settings, service: Service) -> tuple[Callable[[], Awaitable[object]], ...]:
    """The scheduler role's housekeeping: the audit log's retention, lapsed sessions, expired
    variables, ended executions' retention (cronium.retention)."""
    retention = timedelta(days=settings.audit_retention_days)
    return (
        lambda: service.audit.prune(retention),
        service.variables.prune_expired,
        retention_chore(settings, service.store),
    )


async def serve(settings: Settings, say: Say = print, *, with_worker: bool = True) -> None:
    """The REST API (and, by default, a worker and the scheduler's duties) until interrupted."""
    async with opened_store(settings) as store:
        service = service_for(settings, store)
        created = await service.accounts.bootstrap_admin()
        if created is not None:
            announce_admin(created, f"http://{settings.host}:{settings.port}", say)
        worker, worker_status = (None, "not running in this process")
        if with_worker:
            worker, worker_status = build_worker(settings, store)
        if worker is not None:
            service.notify_on_enqueue(worker.wake)
        health = Health()
        if worker is not None:
            worker.health = health
        app = create_app(
            service,
            worker_status=worker_status,
            loops=health,
            max_depth=settings.json_max_depth,
            cookie_secure=settings.cookie_secure,
            web=WebApp(settings.web_dist or DIST),
        )
        if settings.access_log:
            app.add_middleware(AccessLog)
        # logging is the CLI's, set up once: uvicorn's own setup would reset it
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            log_level=None,
            access_log=False,
        )
        if worker is not None:
            _say_worker_runs(worker, worker_status)
        scheduler = None
        if with_worker:
            scheduler = Scheduler(store, health=health, chores=chores_for(settings, service))
        await _serve_with_worker(ApiServer(config), worker, scheduler)


def _say_worker_runs(worker: Worker, status: str) -> None:
    """The line a worker's process writes once its worker runs: who, on what, how many."""
    capacity = worker.settings.concurrency
    log.info(
        "worker %s %s, capacity %d",
        worker.worker_id,
        status,
        capacity,
        extra=fields(worker_id=worker.worker_id, backend=worker.backend.name, capacity=capacity),
    )


class ApiServer(uvicorn.Server):
    """uvicorn's server, minus its signal handling: uvicorn re-raises SIGTERM once it has
    served, which would end the process before the worker drains. ``_serve_with_worker``
    handles the signals instead. Once it listens, it says where."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            for listening in self.servers:
                for bound in listening.sockets:
                    url = url_of(bound.getsockname())
                    log.info("listening on %s", url, extra=fields(url=url))


def url_of(address: tuple[Any, ...] | str) -> str:
    """The URL of a listening socket's address (``getsockname()``)."""
    if isinstance(address, str):
        return f"unix:{address}"
    host, port = address[0], address[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _serve_with_worker(
    server: uvicorn.Server, worker: Worker | None, scheduler: Scheduler | None
) -> None:
    """Serve until SIGTERM or SIGINT; then stop taking requests and drain the worker
    (a second signal: stop the runs at once), then return."""
    stop, stop_now = asyncio.Event(), asyncio.Event()

    def on_stop() -> None:
        server.should_exit = True

    _on_stop_signals(stop, stop_now, on_stop)
    runtime = worker.runtime if worker is not None else None
    if runtime is not None:
        await asyncio.to_thread(runtime.start)
    working = asyncio.create_task(worker.run(stop, stop_now)) if worker is not None else None
    scheduling = asyncio.create_task(scheduler.run(stop)) if scheduler is not None else None
    try:
        await server.serve()
    finally:
        stop.set()
        if scheduling is not None:
            await scheduling
        if working is not None:
            await working
        if runtime is not None:
            await asyncio.to_thread(runtime.stop)


async def run_worker(settings: Settings) -> None:
    """A worker alone: claims, runs and records until SIGTERM or SIGINT (twice: at once)."""
    async with opened_store(settings) as store:
        worker, status = build_worker(settings, store)
        if worker is None:
            raise SandboxUnavailableError(status.removeprefix("not running: "))
        stop, stop_now = asyncio.Event(), asyncio.Event()
        _on_stop_signals(stop, stop_now)
        assert worker.runtime is not None
        await asyncio.to_thread(worker.runtime.start)
        _say_worker_runs(worker, status)
        try:
            async with serving_metrics(settings, store):
                await worker.run(stop, stop_now)
        finally:
            await asyncio.to_thread(worker.runtime.stop)


async def run_scheduler(settings: Settings) -> None:
    """The scheduler until SIGTERM or SIGINT: fires schedules, requeues what lost workers left."""
    async with opened_store(settings) as store:
        stop, stop_now = asyncio.Event(), asyncio.Event()
        _on_stop_signals(stop, stop_now)
        log.info("scheduler running")
        chores = chores_for(settings, service_for(settings, store))
        async with serving_metrics(settings, store):
            await Scheduler(store, chores=chores).run(stop)


@asynccontextmanager
async def serving_metrics(settings: Settings, store: Store) -> AsyncIterator[None]:
    """/metrics on ``CRONIUM_METRICS_PORT`` (if set) at ``CRONIUM_HOST``, for the time of the
    block: a worker or scheduler process serves no API to scrape."""
    if settings.metrics_port is None:
        yield
        return
    config = uvicorn.Config(
        metrics_app(store, utcnow),
        host=settings.host,
        port=settings.metrics_port,
        log_config=None,
        log_level=None,
        access_log=False,
        lifespan="off",
    )
    server = ApiServer(config)
    serving = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.should_exit = True
        await serving


def _on_stop_signals(
    stop: asyncio.Event, stop_now: asyncio.Event, also: Callable[[], None] | None = None
) -> None:
    """First SIGTERM or SIGINT: stop gracefully. A second one: stop at once."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            log.warning("stopping at once")
            stop_now.set()
        else:
            log.info("stopping (a second signal stops at once)")
        stop.set()
        if also is not None:
            also()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
