"""One runtime API server per worker process, on a Unix socket, in a thread of its own.

Its own thread and event loop (and its own database engine) mean that scripts' calls never
wait behind the REST API's traffic or the worker's bookkeeping. The thread supervises the
server: if it stops by itself or its socket disappears (a cleaner of ``/tmp``, say), it is
served again on a fresh socket after a capped back-off, and ``health`` says so meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import shutil
import socket
import stat
import struct
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cronium.api.limits import BoundedRequests, Bounds
from cronium.crypto import Keyring
from cronium.delivery import Sender
from cronium.domain.delivery import DeliveryRules
from cronium.domain.egress import EgressPolicy
from cronium.domain.jsonbounds import DEFAULT_MAX_DEPTH
from cronium.errors import SandboxError
from cronium.runtime.app import RuntimeApi, RuntimeLimits
from cronium.runtime.registry import ActiveExecution, Registry, Results
from cronium.runtime.tokens import TokenIssuer
from cronium.sandbox.host import StateDir
from cronium.sandbox.process import owner_gone, process_key
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.supervision import LoopHealth

log = logging.getLogger(__name__)

SANDBOX_SOCKET = "/run/cronium/runtime.sock"
SANDBOX_URL = f"unix://{SANDBOX_SOCKET}"
TOKEN_MARGIN = timedelta(seconds=60)
_servers = itertools.count(1)  # several in one process (tests) get a directory each
WATCH_SECONDS = 1.0
PEER_CRED = struct.Struct(
    "3i"
)  # struct ucred: pid, uid, gid  # how often the thread checks that its socket is still there


class RuntimeServer:
    """Serves the runtime API for the executions this worker runs."""

    def __init__(
        self,
        database_url: str,
        *,
        limits: RuntimeLimits | None = None,
        key: bytes | None = None,
        keyring: Keyring | None = None,
        state: StateDir | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        egress: EgressPolicy | None = None,
        delivery: DeliveryRules | None = None,
    ) -> None:
        """``egress`` and ``delivery``: what scripts' tool actions may reach, and how hard
        they are tried."""
        self.database_url = database_url
        self.egress = egress or EgressPolicy()
        self.delivery = delivery or DeliveryRules()
        self.limits = limits or RuntimeLimits()
        self.issuer = TokenIssuer(key)
        self.keyring = keyring
        self.registry = Registry()
        self.state = state or StateDir()
        self.max_depth = max_depth
        # in the state directory's shared part: bubblewrap, as the run's uid, binds the socket
        self.socket_dir = self.state.root / "runtime" / f"{process_key()}-{next(_servers)}"
        self.socket_path = self.socket_dir / "runtime.sock"
        self.health = LoopHealth("runtime API")
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def start(self) -> None:
        """Start serving; returns once the socket accepts connections."""
        _remove_sockets_of_dead_workers(self.state.shared("runtime"))
        self._thread = threading.Thread(target=self._serve, name="cronium-runtime", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._failure is not None:
            raise SandboxError(f"the runtime API could not start: {self._failure}")

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                self._loop.call_soon_threadsafe(self._wake.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def admit(self, execution: ActiveExecution, *, now: datetime, timeout: float) -> str:
        """Let ``execution`` call the API until it ends; its token."""
        self.registry.add(execution)
        return self.issuer.issue(
            execution_id=execution.execution_id,
            event_id=execution.event_id,
            owner_id=execution.owner_id,
            now=now,
            lifetime=timedelta(seconds=timeout) + TOKEN_MARGIN,
        )

    def bind_uid(self, execution_id: int, uid: int) -> None:
        """The run's sandbox runs as host uid ``uid``: only callers of that uid may use its
        token (and may connect at all)."""
        self.registry.bind_uid(execution_id, uid)

    def results(self, execution_id: int) -> Results:
        """What the execution handed over through the API (output, condition) so far."""
        return self.registry.results(execution_id)

    def dismiss(self, execution_id: int) -> None:
        """The execution has ended: its token stops working."""
        self.registry.remove(execution_id)

    def _serve(self) -> None:
        try:
            # uvloop: the round trips between this loop and the database driver's thread are
            # most of a call's cost.
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._main())
        except (
            BaseException
        ) as exc:  # reported to start() or logged; the thread must not die silently
            self._failure = exc
            self._ready.set()
            log.exception("the runtime API stopped")

    async def _main(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        engine = create_engine(self.database_url)
        store = Store(engine, self.keyring)
        sender = Sender(store, self.egress, self.delivery, lambda: datetime.now(UTC))
        api = RuntimeApi(store, self.issuer, self.registry, self.limits, sender).app()
        # bodies cut well before memory suffers (the API's own check names its limit first)
        cap = self.limits.max_payload_bytes + 1024 * 1024
        app = BoundedRequests(
            api, Bounds(max_body=cap, max_depth=self.max_depth), refuse=_runtime_refusal
        )
        try:
            while not self._stopping.is_set():
                try:
                    stopped = await self._serve_once(app)
                except (Exception, SystemExit) as exc:  # uvicorn exits when it cannot bind
                    if not self._ready.is_set():
                        raise  # the first start: start() reports it
                    delay = self.health.failed(exc)
                else:
                    if self._stopping.is_set():
                        break
                    delay = self.health.failed(SandboxError(f"{stopped}; serving it again"))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
        finally:
            await engine.dispose()

    async def _serve_once(self, app: Any) -> str:
        """Serve on a fresh socket until told to stop, or until the socket disappears;
        why it stopped."""
        self.state.shared("runtime")  # checked at every start
        self.socket_dir.mkdir(mode=0o755, exist_ok=True)
        self.socket_dir.chmod(0o755)
        self.socket_path.unlink(missing_ok=True)
        registry = self.registry

        class Protocol(PeerCheckedProtocol):
            admits = staticmethod(registry.admits)

        config = uvicorn.Config(
            app,
            uds=str(self.socket_path),
            lifespan="off",
            # the process's logging is set up once, by the CLI: uvicorn's own setup would reset
            # the loggers of the REST API's server
            log_config=None,
            log_level=None,
            access_log=False,
            http=Protocol,
        )
        server = self._server = _Server(config, self._listening)
        serving = asyncio.ensure_future(server.serve())
        stopped = "the runtime API stopped by itself"
        while not serving.done():
            await asyncio.wait({serving}, timeout=WATCH_SECONDS)
            if server.started and not server.should_exit and not self._socket_there():
                stopped = f"the runtime API's socket {self.socket_path} disappeared"
                server.should_exit = True
        serving.result()
        return stopped

    def _socket_there(self) -> bool:
        try:
            return stat.S_ISSOCK(self.socket_path.stat().st_mode)
        except OSError:
            return False

    def _listening(self) -> None:
        self.socket_path.chmod(0o666)  # uid 1000 in the sandbox must be able to connect
        log.debug("the runtime API listens on %s", self.socket_path)
        self.health.succeeded()
        self._ready.set()


def _remove_sockets_of_dead_workers(root: Path) -> None:
    for directory in root.iterdir():
        if owner_gone(directory.name.split("-")[0]):
            shutil.rmtree(directory, ignore_errors=True)


class PeerCheckedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, talking only to callers whose uid a running execution has:
    the kernel tells the caller's uid (SO_PEERCRED), which no caller can forge. Each request's
    scope carries it (``extensions["cronium.peer_uid"]``) for the token's own check."""

    admits: Callable[[int], bool]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.peer_uid = _peer_uid(transport)
        super().connection_made(transport)
        if self.peer_uid is None or not self.admits(self.peer_uid):
            log.warning("refused a runtime API connection from uid %s", self.peer_uid)
            transport.abort()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions = dict(self.scope.get("extensions") or {})
        extensions["cronium.peer_uid"] = {"uid": self.peer_uid}
        self.scope["extensions"] = extensions


def _runtime_refusal(status: int, code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


def _peer_uid(transport: asyncio.BaseTransport) -> int | None:
    connection = transport.get_extra_info("socket")
    if connection is None or connection.family != socket.AF_UNIX:
        return None
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEER_CRED.size)
    _pid, uid, _gid = PEER_CRED.unpack(credentials)
    return int(uid)


class _Server(uvicorn.Server):
    """uvicorn's server, telling us once its socket listens."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_listening()
