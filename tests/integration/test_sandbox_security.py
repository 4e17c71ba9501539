"""Around the sandbox, attacked as a local user of the worker's host would: another account,
pre-made or symlinked state directories, a permissive umask, and what a script sees of /proc."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from cronium.errors import SandboxUnavailableError
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.host import StateDir, UidRange, UidSlots
from cronium.sandbox.native import NativeBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from cronium.worker import Worker
from tests.backends import missing
from tests.factories import script_event
from tests.polling import until
from tests.processes import command_line, processes_of

LOCAL_USER = 1000  # an ordinary account of a typical host
# how a subprocess of the tests runs as that account
AS_LOCAL_USER: dict[str, Any] = {
    "user": LOCAL_USER,
    "group": LOCAL_USER,
    "extra_groups": [],
    "capture_output": True,
    "text": True,
    "timeout": 30,
    "cwd": "/",
}
GROUP = 2_100_000_000


@pytest.fixture(scope="module")
def native() -> NativeBackend:
    backend = NativeBackend()
    try:
        backend.check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    return backend


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_state_directory_someone_else_made_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "state"
    planted.mkdir()
    os.chown(planted, LOCAL_USER, LOCAL_USER)
    with pytest.raises(SandboxUnavailableError, match="belongs to uid 1000"):
        StateDir(planted, group=GROUP).ensure()
    assert planted.stat().st_uid == LOCAL_USER  # refused, not repaired


def test_an_open_state_directory_is_refused_not_repaired(tmp_path: Path) -> None:
    planted = tmp_path / "state"
    planted.mkdir()
    planted.chmod(0o777)
    with pytest.raises(SandboxUnavailableError, match="its mode is 0777"):
        StateDir(planted, group=GROUP).ensure()
    assert stat.S_IMODE(planted.stat().st_mode) == 0o777


def test_a_symlinked_state_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    (tmp_path / "state").symlink_to(target)
    with pytest.raises(SandboxUnavailableError, match="cannot be opened as a directory"):
        StateDir(tmp_path / "state", group=GROUP).shared("native")
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert list(target.iterdir()) == []


def test_a_state_directory_made_here_is_private_whatever_the_umask(
    tmp_path: Path, umask_000: None
) -> None:
    state = StateDir(tmp_path / "state", group=GROUP)
    shared, private = state.shared("native"), state.private("uids")
    for path, mode in ((state.root, 0o710), (shared, 0o710), (private, 0o700)):
        found = path.lstat()
        assert (stat.S_IMODE(found.st_mode), found.st_uid) == (mode, os.geteuid()), path
    assert state.root.stat().st_gid == GROUP


def test_the_database_and_its_directory_are_private_whatever_the_umask(
    tmp_path: Path, umask_000: None
) -> None:
    data = tmp_path / "data"

    async def make() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{data / 'cronium.db'}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(make())
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("cronium.db", "cronium.db-wal", "cronium.db-shm"):
        if (data / name).exists():
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name


def test_two_runs_never_share_a_uid_and_a_free_uid_comes_back(tmp_path: Path) -> None:
    slots = UidSlots(UidRange(GROUP, 3), tmp_path)
    with slots.claim(7) as first, slots.claim(7) as second:
        assert first != second
        assert {first.uid, second.uid} == {GROUP + 1, GROUP + 2}
        with (
            pytest.raises(Exception, match="all 2 sandbox uids of this host are in use"),
            slots.claim(8),
        ):
            pass
    with slots.claim(8) as again:
        assert again.uid in {GROUP + 1, GROUP + 2}


def test_a_uid_range_a_host_account_has_is_refused() -> None:
    with pytest.raises(SandboxUnavailableError, match="user root"):
        UidRange(0, 100).check()


ATTACK = """
import json, os, socket, sys
socket_path, marker = sys.argv[1], sys.argv[2]
found = {"environ": [], "cmdline": [], "connect": None, "state": None}
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    for part in ("environ", "cmdline"):
        try:
            data = open(f"/proc/{pid}/{part}", "rb").read()
        except OSError:
            continue
        if b"CRONIUM_EXECUTION_TOKEN=" in data or marker.encode() in data:
            found[part].append(pid)
try:
    client = socket.socket(socket.AF_UNIX)
    client.settimeout(5)
    client.connect(socket_path)
    client.sendall(b"GET /executions/1/input HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    found["connect"] = client.recv(100).decode(errors="replace")
except OSError as exc:
    found["connect"] = type(exc).__name__
try:
    found["state"] = os.listdir("/run/cronium")
except OSError as exc:
    found["state"] = type(exc).__name__
print(json.dumps(found))
"""


@pytest.fixture
async def running(
    native: NativeBackend, tmp_path: Path
) -> AsyncIterator[tuple[Store, Worker, RuntimeServer]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cronium.db'}")
    await migrate(engine)
    store = Store(engine)
    runtime = RuntimeServer(
        f"sqlite+aiosqlite:///{tmp_path / 'cronium.db'}",
    )
    await asyncio.to_thread(runtime.start)
    try:
        yield store, Worker(store, native, runtime=runtime), runtime
    finally:
        await asyncio.to_thread(runtime.stop)
        await engine.dispose()


async def test_another_account_can_neither_read_a_runs_token_nor_reach_its_api(
    running: tuple[Store, Worker, RuntimeServer],
) -> None:
    store, worker, runtime = running
    service = Service(store)
    user, _ = await service.accounts.create_admin("owner")
    marker = f"marker-{uuid.uuid4().hex}"
    script = f"echo {marker} >/dev/null; sleep 6; cronium_get_variable nothing; true"
    fields = script_event(script, name="sleeper", timeout_seconds=20)
    event = await service.create_event(user, fields)
    queued = await service.run_event(user, event.id, None)
    working = asyncio.create_task(worker.run_once())

    def sleeping() -> bool:
        """The script is in its sleep, as the run's own uid on this host."""
        active = runtime.registry.get(queued.id)
        uid = active.uid if active is not None else None
        return uid is not None and any(
            command_line(pid) == ["sleep", "6"] for pid in processes_of(uid)
        )

    await until(sleeping, 10, "the script sleeping in its sandbox")
    attack = await asyncio.to_thread(
        subprocess.run,
        ["/usr/bin/python3", "-I", "-c", ATTACK, str(runtime.socket_path), marker],
        **AS_LOCAL_USER,
    )
    await working
    found = json.loads(attack.stdout)
    assert found["environ"] == [], found
    assert found["cmdline"] == [], found
    assert found["state"] == "PermissionError"
    assert found["connect"] == "PermissionError", found
    ended = await store.executions.get(queued.id)
    assert ended.status.value == "succeeded", ended.error


async def test_the_runtime_api_hangs_up_on_a_uid_no_running_execution_has(
    running: tuple[Store, Worker, RuntimeServer],
) -> None:
    """Even given a path to the socket (here a bind mount outside the state directory), another
    account gets no answer: the kernel names the caller's uid, and it is no run's."""
    _, _, runtime = running
    found = await asyncio.to_thread(attack_through_a_bind_mount, runtime.socket_path)
    # the hang-up, seen as an empty answer, a reset, or a pipe broken while still sending
    assert found["connect"] in ("", "ConnectionResetError", "BrokenPipeError"), found


def attack_through_a_bind_mount(socket_path: Path) -> dict[str, object]:
    reachable = Path(tempfile.mkdtemp(dir="/tmp")) / "runtime.sock"
    reachable.parent.chmod(0o755)
    reachable.touch()
    subprocess.run(["mount", "--bind", str(socket_path), str(reachable)], check=True)
    try:
        attack = subprocess.run(
            ["/usr/bin/python3", "-I", "-c", ATTACK, str(reachable), "nothing"],
            **AS_LOCAL_USER,
        )
    finally:
        subprocess.run(["umount", str(reachable)], check=False)
        shutil.rmtree(reachable.parent, ignore_errors=True)
    result: dict[str, object] = json.loads(attack.stdout)
    return result


async def test_a_native_script_cannot_read_what_the_kernel_says_of_the_host(
    native: NativeBackend,
) -> None:
    from tests.contract.conftest import run

    script = """
for f in /proc/config.gz /proc/iomem /proc/partitions /proc/kallsyms /proc/keys; do
    [ -e "$f" ] || continue
    if [ -s "$f" ] && head -c 1 "$f" >/dev/null 2>&1; then echo "readable $f"; fi
done
id -un; id -u
"""
    done = await run(native, script)
    assert done.out() == ["cronium", "1000"]


CALL = """
import socket, sys
client = socket.socket(socket.AF_UNIX)
client.settimeout(5)
client.connect(sys.argv[1])
request = (
    f"GET /executions/{sys.argv[2]}/input HTTP/1.1\\r\\nHost: x\\r\\n"
    f"Authorization: Bearer {sys.stdin.read()}\\r\\nConnection: close\\r\\n\\r\\n"
)
client.sendall(request.encode())
answer = b""
while chunk := client.recv(4096):  # the headers and the body may come apart
    answer += chunk
print(answer.decode(errors="replace"))
"""


async def test_a_runs_token_does_not_work_from_another_runs_uid(
    running: tuple[Store, Worker, RuntimeServer],
) -> None:
    from datetime import UTC, datetime

    from cronium.runtime.registry import ActiveExecution

    _, _, runtime = running
    now = datetime.now(UTC)

    def admit(execution_id: int, uid: int) -> str:
        token = runtime.admit(
            ActiveExecution(execution_id, 1, "e", "bash", 1, 1, "manual", None, None),
            now=now,
            timeout=30,
        )
        runtime.bind_uid(execution_id, uid)
        return token

    victim = admit(41, GROUP + 101)
    admit(42, GROUP + 102)  # the thief's own run
    answer = await asyncio.to_thread(
        subprocess.run,
        ["/usr/bin/python3", "-I", "-c", CALL, str(runtime.socket_path), "41"],
        input=victim,
        user=GROUP + 102,
        group=GROUP + 102,
        extra_groups=[GROUP],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    assert answer.stdout.startswith("HTTP/1.1 401"), answer.stdout + answer.stderr
    assert "is used from uid 2100000102" in answer.stdout
