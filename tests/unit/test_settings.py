"""Settings (settings.py): where they come from, and what a bad one says."""

from pathlib import Path

import pytest

from cronium.errors import ConfigurationError
from cronium.settings import describe_settings, load_settings


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
