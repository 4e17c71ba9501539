"""Settings (settings.py): where they come from, and what a bad one says."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from cronium.domain.egress import EgressPolicy
from cronium.errors import ConfigurationError
from cronium.settings import (
    Settings,
    WorkerSettings,
    default_capacity,
    describe_settings,
    load_settings,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRONIUM_DATABASE_URL", "CRONIUM_DATABASE_URL_FILE", "CRONIUM_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_it_defaults_to_sqlite_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CRONIUM_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url_value == f"sqlite+aiosqlite:///{tmp_path / 'cronium.db'}"
    assert settings.sandbox == "native"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


def test_it_reads_a_secret_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("postgresql://u:p@db/cronium\n")
    monkeypatch.setenv("CRONIUM_DATABASE_URL_FILE", str(secret))
    assert load_settings().database_url_value == "postgresql://u:p@db/cronium"


def test_it_refuses_a_secret_given_twice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("sqlite:///x.db")
    monkeypatch.setenv("CRONIUM_DATABASE_URL_FILE", str(secret))
    monkeypatch.setenv("CRONIUM_DATABASE_URL", "sqlite:///y.db")
    with pytest.raises(ConfigurationError, match="keep only one"):
        load_settings()


def test_it_names_an_unreadable_secret_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRONIUM_DATABASE_URL_FILE", "/nonexistent/url")
    with pytest.raises(ConfigurationError, match="CRONIUM_DATABASE_URL_FILE=/nonexistent/url"):
        load_settings()


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRONIUM_PORT", "99999")
    with pytest.raises(ConfigurationError, match="CRONIUM_PORT"):
        load_settings()


def test_the_database_url_is_never_shown_in_the_settings_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRONIUM_DATABASE_URL", "postgresql://u:hunter2@db/x")
    assert "hunter2" not in repr(load_settings())


def test_every_setting_is_described_for_help() -> None:
    rows = describe_settings()
    assert all(description for _, _, description in rows)
    assert any(variable.startswith("CRONIUM_DATABASE_URL (or") for variable, _, _ in rows)


# the worker's part of the settings

WORKER_VARIABLES = ("CRONIUM_WORKER_", "CRONIUM_ALLOW_EGRESS", "CRONIUM_HTTP_", "CRONIUM_OUTPUT_")


@pytest.fixture(autouse=True)
def clean_worker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
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
