"""The docker backend's reading thread hands output to the event loop in bounded steps."""

from __future__ import annotations

import asyncio
import threading
import time

from cronium.sandbox.docker import Handoff

CHUNKS = 1000
LIMIT = 8


def wait_for(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


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
        assert wait_for(lambda: handoff.waiting == LIMIT)
        time.sleep(0.2)
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
