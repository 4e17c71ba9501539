"""Secrets in real sandboxes (native and docker): mapped to /run/secrets or the environment,
never in a command line, and masked in the stored lines, output and error of the run."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cronium.crypto import Keyring, generate_key, parse_key
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Language
from cronium.domain.execution import ExecutionStatus
from cronium.domain.http import HttpRequest
from cronium.domain.user import User
from cronium.domain.variable import VariableChange
from cronium.masking import MASK
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.fake import FakeBackend
from cronium.sandbox.output import MAX_LINE_BYTES
from cronium.sandbox.spec import SandboxBackend
from cronium.service import Service
from cronium.settings import WorkerSettings
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker
from tests.factories import http_event, script_event, unique_name
from tests.runs import Done, done

KEY = parse_key(generate_key(), "test")
FILE_SECRET = "Fq7-orchid-lantern-9034"
ENV_SECRET = "ev2-copper-meadow-1187"  # lower case: a host name in a URL is lowered
UNMAPPED = "Um5-silent-harbor-6620"  # the owner's, in no event's mapping: masked all the same


@dataclass
class Harness:
    store: Store
    service: Service
    user: User
    worker: Worker

    async def run(self, script: str, language: Language = Language.PYTHON, **fields: Any) -> Done:
        event = await self.service.create_event(
            self.user,
            script_event(script, language, name=unique_name("s"), timeout_seconds=30, **fields),
        )
        queued = await self.service.run_event(self.user, event.id)
        assert await self.worker.run_once()
        return await self.done(queued.id)

    async def done(self, execution_id: int) -> Done:
        return await done(self.store, execution_id)


async def _owner_with_secrets(store: Store) -> tuple[Service, User]:
    service = Service(store)
    user, _ = await service.accounts.create_admin("owner")
    now = datetime.now(UTC)
    for key, value in (("API_KEY", FILE_SECRET), ("ENV_KEY", ENV_SECRET), ("OTHER", UNMAPPED)):
        await store.variables.write(user.id, key, VariableChange(value=value, secret=True), now)
    return service, user


@pytest.fixture
async def keyed(tmp_path: Path) -> AsyncIterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path / 'cronium.db'}"
    engine = create_engine(url)
    await migrate(engine)
    yield url, Store(engine, Keyring(KEY))
    await engine.dispose()


@pytest.fixture
async def harness(
    keyed: tuple[str, Store], sandbox_backend: SandboxBackend
) -> AsyncIterator[Harness]:
    url, store = keyed
    service, user = await _owner_with_secrets(store)
    runtime = RuntimeServer(url)
    await asyncio.to_thread(runtime.start)
    try:
        yield Harness(store, service, user, Worker(store, sandbox_backend, runtime=runtime))
    finally:
        await asyncio.to_thread(runtime.stop)


PRINTS = f"""
import sys, time, cronium
secret = open("/run/secrets/API_KEY").read()
print(secret)
print(f"the key is {{secret}}, and that is all")
sys.stdout.write("split: " + secret[:6]); sys.stdout.flush(); time.sleep(0.3)
sys.stdout.write(secret[6:] + " end\\n"); sys.stdout.flush()
print("on stderr: " + secret, file=sys.stderr)
sys.stderr.write(secret[:3]); sys.stderr.flush(); time.sleep(0.2)
sys.stderr.write(secret[3:] + "\\n"); sys.stderr.flush()
print("unmapped {UNMAPPED} too")
print("x" * ({MAX_LINE_BYTES} - 4) + secret + " after the cut")
cronium.output({{"key": secret, "deep": [{{"in": "<" + secret + ">"}}], secret: 1, "n": 2}})
"""


async def test_a_printed_secret_is_masked_in_lines_output_and_both_streams(
    harness: Harness,
) -> None:
    done = await harness.run(PRINTS, secrets={"API_KEY": "file"})

    assert done.execution.status is ExecutionStatus.SUCCEEDED, done
    assert done.stdout[:4] == [
        MASK,
        f"the key is {MASK}, and that is all",
        f"split: {MASK} end",
        f"unmapped {MASK} too",
    ]
    assert done.stderr == [f"on stderr: {MASK}", MASK]
    long_line = "".join(done.stdout[4:])
    assert long_line == "x" * (MAX_LINE_BYTES - 4) + MASK + " after the cut"
    assert done.execution.output == {
        "key": MASK,
        "deep": [{"in": f"<{MASK}>"}],
        MASK: 1,
        "n": 2,
    }
    everything = json.dumps([done.stdout, done.stderr, done.execution.output])
    for secret in (FILE_SECRET, UNMAPPED):
        assert secret not in everything
        assert secret[:8] not in everything


FILES = f"""
import json, os, stat
path = "/run/secrets/API_KEY"
info, folder = os.stat(path), os.stat("/run/secrets")
value = open(path).read()
try:
    open(path, "a").write("x")
    writable = True
except OSError:
    writable = False
commands = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            commands.append(open(f"/proc/{{pid}}/cmdline", "rb").read().decode(errors="replace"))
        except OSError:
            pass
print(json.dumps({{
    "file_right": value == "{FILE_SECRET}",
    "mode": oct(stat.S_IMODE(info.st_mode)),
    "dir_mode": oct(stat.S_IMODE(folder.st_mode)),
    "mine": info.st_uid == os.getuid() and folder.st_uid == os.getuid(),
    "writable": writable,
    "listed": sorted(os.listdir("/run/secrets")),
    "file_secret_in_env": any("{FILE_SECRET}" in v for v in os.environ.values()),
    "env_right": os.environ.get("ENV_KEY") == "{ENV_SECRET}",
    "in_argv": any("{FILE_SECRET}" in c or "{ENV_SECRET}" in c for c in commands),
    "secrets_dir": os.environ.get("CRONIUM_SECRETS_DIR"),
}}))
import time; time.sleep(1)
"""


def _host_commands() -> Iterator[str]:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                yield Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue


async def test_a_file_secret_is_a_0400_file_and_an_env_secret_is_in_the_environment(
    harness: Harness,
) -> None:
    event = await harness.service.create_event(
        harness.user,
        script_event(
            FILES,
            Language.PYTHON,
            name=unique_name("files"),
            timeout_seconds=30,
            secrets={"API_KEY": "file", "ENV_KEY": "env"},
        ),
    )
    queued = await harness.service.run_event(harness.user, event.id)
    running = asyncio.create_task(harness.worker.run_once())
    seen: set[str] = set()
    while not running.done():
        seen.update(_host_commands())
        await asyncio.sleep(0.05)
    assert await running
    done = await harness.done(queued.id)

    assert done.execution.status is ExecutionStatus.SUCCEEDED, done
    assert json.loads(done.stdout[0]) == {
        "file_right": True,
        "mode": "0o400",
        "dir_mode": "0o500",
        "mine": True,
        "writable": False,
        "listed": ["API_KEY"],
        "file_secret_in_env": False,
        "env_right": True,
        "in_argv": False,
        "secrets_dir": "/run/secrets",
    }
    assert not any(FILE_SECRET in command or ENV_SECRET in command for command in seen)


async def test_a_run_without_file_secrets_has_no_secrets_directory(harness: Harness) -> None:
    done = await harness.run(
        'test -e /run/secrets && echo there || echo none; echo "${ENV_KEY:-unset}"',
        Language.BASH,
    )

    assert done.stdout == ["none", "unset"]


class EchoHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = json.dumps({"echo": json.loads(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    httpd.daemon_threads = True
    serving = threading.Thread(target=httpd.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_an_http_requests_output_and_error_are_masked(
    keyed: tuple[str, Store], echo_server: str
) -> None:
    _, store = keyed
    service, user = await _owner_with_secrets(store)
    settings = WorkerSettings(egress=EgressPolicy(allow_private=True))
    worker = Worker(store, FakeBackend(), settings=settings)
    echoed = await service.create_event(
        user, http_event(HttpRequest("POST", f"{echo_server}/echo"))
    )
    unresolved = await service.create_event(user, http_event(f"http://{ENV_SECRET}.invalid/"))

    first = await service.run_event(user, echoed.id, {"token": FILE_SECRET})
    assert await worker.run_once()
    second = await service.run_event(user, unresolved.id)
    assert await worker.run_once()

    answered = await store.executions.get(first.id)
    assert answered.status is ExecutionStatus.SUCCEEDED, answered
    assert answered.output["body"] == {"echo": {"token": MASK}}
    failed = await store.executions.get(second.id)
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error is not None
    assert f"{MASK}.invalid" in failed.error
    assert ENV_SECRET not in failed.error
    lines = [line.line for line in await store.logs.read(second.id)]
    assert lines
    assert not any(ENV_SECRET in line for line in lines)
