"""Waiting for a state instead of sleeping: the one polling helper of the tests.

``await until(condition, seconds, what)`` asks ``condition`` (a function, async or not) again
and again until it answers something true, and returns that answer; after ``seconds`` it fails
saying that ``what`` did not happen. ``until_sync`` is the same for code without an event
loop. Both are bounded by their time, whatever ``condition`` answers.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
INTERVAL = 0.05


async def until(
    condition: Callable[[], Awaitable[T] | T],
    seconds: float,
    what: str,
    *,
    interval: float = INTERVAL,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """The first true answer of ``condition``, asked every ``interval`` seconds (errors of
    the kinds ``ignoring`` names count as a false answer)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = None
        try:
            answer = condition()
            if inspect.isawaitable(answer):
                answer = await answer
        except ignoring:
            answer = None
        if answer:
            return answer  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(_late(what, seconds, answer))
        await asyncio.sleep(interval)


def until_sync(
    condition: Callable[[], T],
    seconds: float,
    what: str,
    *,
    interval: float = INTERVAL,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """``until`` without an event loop."""
    deadline = time.monotonic() + seconds
    while True:
        answer = None
        try:
            answer = condition()
        except ignoring:
            answer = None
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(_late(what, seconds, answer))
        time.sleep(interval)


def _late(what: str, seconds: float, answer: object) -> str:
    last = "" if answer is None else f" (last answer: {answer!r:.300})"
    return f"{what} did not happen within {seconds} s{last}"
