"""The docker backend (sandbox/docker.py): the container's options, and its reading thread
handing output to the event loop in bounded steps."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from cronium.domain.event import Language
from cronium.sandbox.docker import Handoff, container_options
from cronium.sandbox.seccomp import docker_profile
from tests.factories import sandbox_spec
from tests.polling import until_sync

CHUNKS = 1000
LIMIT = 8


def test_a_producer_faster_than_the_loop_waits_instead_of_queueing_everything() -> None:
    loop = asyncio.new_event_loop()
    handoff = Handoff(loop, limit=LIMIT)
    received: list[bytes] = []
    producer = threading.Thread(
        target=lambda: [handoff.send(received.append, b"%d" % n) for n in range(CHUNKS)],
        daemon=True,
    )
    try:
        producer.start()  # the loop does not run yet: nothing is taken
        until_sync(lambda: handoff.waiting == LIMIT, 5, "the handoff filling up", interval=0.01)
        time.sleep(0.2)  # time enough for a producer that did not wait to hand over more
        assert handoff.waiting == LIMIT
        assert producer.is_alive()

        loop.run_until_complete(asyncio.to_thread(producer.join, 10))
        loop.run_until_complete(asyncio.sleep(0))  # what was handed over last
        assert handoff.waiting == 0
    finally:
        loop.close()
    assert received == [b"%d" % n for n in range(CHUNKS)]


def test_a_producer_stops_once_the_loop_is_gone() -> None:
    loop = asyncio.new_event_loop()
    handoff = Handoff(loop, limit=1)
    assert handoff.send(lambda data: None, b"taken")
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(handoff.send(print, b"x")))
    producer.start()
    loop.close()
    producer.join(timeout=5)
    assert results == [False]


def test_docker_containers_get_every_promise_of_the_security_table() -> None:
    spec = sandbox_spec(
        "x",
        Language.NODE,
        execution_id=9,
        env={"A": "1"},
        cpus=1.5,
        memory_mb=256,
        pids=20,
        uid=2_100_000_009,
        gid=2_100_000_009,
    )
    options = container_options(spec, Path("/tmp/bundle"), "/cronium/docker-x")
    assert options["user"] == "2100000009:2100000009"
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges", f"seccomp={docker_profile()}"]
    assert options["read_only"] is True
    assert options["network_mode"] == "none"
    assert (options["mem_limit"], options["memswap_limit"]) == ("256m", "256m")
    assert options["nano_cpus"] == 1_500_000_000
    assert options["pids_limit"] == 20
    assert "size=100m" in options["tmpfs"]["/tmp"]
    assert "size=500m" in options["tmpfs"]["/workspace"]
    assert options["volumes"] == {
        "/tmp/bundle/run": {"bind": "/run/cronium", "mode": "ro"},
        "/tmp/bundle/passwd": {"bind": "/etc/passwd", "mode": "ro"},
        "/tmp/bundle/group": {"bind": "/etc/group", "mode": "ro"},
    }
    assert "uid=2100000009" in options["tmpfs"]["/workspace"]
    assert options["command"] == ["node", "/run/cronium/script.js"]
    assert options["environment"]["A"] == "1"
    assert options["labels"]["cronium.execution"] == "9"
    assert options["cgroup_parent"] == "/cronium/docker-x"


def test_docker_containers_get_the_profile_and_no_new_privileges() -> None:
    spec = sandbox_spec()
    options = container_options(spec, Path("/tmp/bundle"), None)
    assert options["security_opt"] == ["no-new-privileges", f"seccomp={docker_profile()}"]
    assert docker_profile() is docker_profile()  # computed once
