"""Parts of the native backend beyond the shared contract: leftovers of a crashed worker."""

from __future__ import annotations

import subprocess
import time

import pytest

from cronium.errors import SandboxUnavailableError
from cronium.sandbox.native import NativeBackend
from cronium.sandbox.process import process_key
from tests.backends import missing


@pytest.fixture(scope="module")
def native() -> NativeBackend:
    backend = NativeBackend()
    try:
        backend.check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    return backend


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_leftovers_of_a_dead_worker_are_killed_and_removed(native: NativeBackend) -> None:
    name = f"{dead_pid()}-77-1"
    cgroup = native.tree.create(name)
    orphan = subprocess.Popen(["sleep", "60"])
    cgroup.add_process(orphan.pid)
    assert orphan.pid in cgroup.processes()
    removed = native.remove_leftovers()
    assert name in removed
    assert orphan.wait(timeout=5) == -9
    assert name not in native.tree.names()


def test_sandboxes_of_a_live_worker_are_not_leftovers(native: NativeBackend) -> None:
    name = f"{process_key()}-78-1"
    cgroup = native.tree.create(name)
    try:
        assert name not in native.remove_leftovers()
        assert name in native.tree.names()
    finally:
        cgroup.remove()


def test_cgroup_removal_kills_what_is_inside(native: NativeBackend) -> None:
    cgroup = native.tree.create(f"{process_key()}-79-1")
    sleeper = subprocess.Popen(["sleep", "60"])
    cgroup.add_process(sleeper.pid)
    started = time.monotonic()
    cgroup.remove()
    assert sleeper.wait(timeout=5) == -9
    assert time.monotonic() - started < 1


def test_leftovers_of_a_dead_worker_go_even_if_its_pid_was_reused(
    native: NativeBackend,
) -> None:
    """The pid of a dead worker now belongs to another process, which makes sandboxes of
    its own (a `cronium run`, say): the dead worker's go, the live process's stay."""
    reused = subprocess.Popen(["sleep", "60"])
    key = process_key(reused.pid)
    pid, start = key.split(".")
    dead = native.tree.create(f"{pid}.{int(start) - 1}-79-1")  # the worker that had the pid
    alive = native.tree.create(f"{key}-80-1")  # the process that has it now
    orphan = subprocess.Popen(["sleep", "60"])
    dead.add_process(orphan.pid)
    try:
        removed = native.remove_leftovers()
        assert dead.name in removed
        assert alive.name not in removed
        assert orphan.wait(timeout=5) == -9
        assert reused.poll() is None  # the process that has the pid now is left alone
    finally:
        alive.remove()
        reused.kill()
        reused.wait()
