"""Supervised loops: one line when an outage begins and one when it ends, capped back-off."""

import logging

import pytest

from cronium.errors import StorageError
from cronium.supervision import MAX_DELAY, Health


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = Health()
    loop = health.loop("worker claims")
    with caplog.at_level(logging.WARNING, logger="cronium.supervision"):
        delays = [loop.failed(StorageError("the database failed: gone")) for _ in range(12)]
        assert not health.ok
        assert health.storage_failing
        assert health.report()["worker claims"]["status"] == "failing"
        loop.succeeded()
    assert health.ok
    assert not health.storage_failing
    assert health.report() == {"worker claims": {"status": "ok"}}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "cannot reach the database" in messages[0]
    assert "works again after 12 failed attempt(s)" in messages[1]
    assert delays == sorted(delays)
    assert delays[-1] == MAX_DELAY


def test_a_bug_is_logged_with_its_traceback_each_time(caplog: pytest.LogCaptureFixture) -> None:
    loop = Health().loop("scheduler")
    with caplog.at_level(logging.ERROR, logger="cronium.supervision"):
        for _ in range(2):
            try:
                raise RuntimeError("one bad event")
            except RuntimeError as exc:
                loop.failed(exc)
    assert [record.exc_info is not None for record in caplog.records] == [True, True]
    assert not loop.storage_failing
    assert loop.report()["error"] == "RuntimeError: one bad event"
