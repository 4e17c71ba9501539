"""A worker's settings, taken from the application's settings in one place."""

import os
from datetime import timedelta

import pytest

from cronium.domain.egress import EgressPolicy
from cronium.settings import Settings, WorkerSettings, default_capacity

WORKER_VARIABLES = ("CRONIUM_WORKER_", "CRONIUM_ALLOW_EGRESS", "CRONIUM_HTTP_", "CRONIUM_OUTPUT_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(WORKER_VARIABLES)]:
        monkeypatch.delenv(name)


def test_the_worker_settings_come_from_the_settings() -> None:
    settings = Settings(
        worker_concurrency=3,
        worker_poll_interval=0.5,
        worker_tags=" gpu, ,docker",
        worker_lease=12,
        worker_shutdown_grace=7,
        output_cap_bytes=4096,
        output_max_lines=500,
        http_max_body=2048,
        allow_egress=True,
        http_allow_private=True,
    )
    assert WorkerSettings.from_settings(settings) == WorkerSettings(
        concurrency=3,
        poll_interval=0.5,
        tags=frozenset({"gpu", "docker"}),
        lease=timedelta(seconds=12),
        heartbeat_interval=4.0,
        shutdown_grace=7,
        output_cap_bytes=4096,
        output_max_lines=500,
        http_max_body=2048,
        egress=EgressPolicy(allow_egress=True, allow_private=True),
    )


def test_without_a_concurrency_a_worker_takes_what_the_machine_allows() -> None:
    worker = WorkerSettings.from_settings(Settings())
    assert worker.concurrency == default_capacity() >= 1
    assert worker.egress == EgressPolicy(allow_egress=False, allow_private=False)
    assert worker.tags == frozenset()
