"""The secrets setting as a command-line option (cli/setting_options.py): --secret KEY[=VALUE]."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from cronium.cli.run import Given, event_settings
from cronium.cli.setting_options import setting_options


def _command() -> tuple[typer.Typer, list[dict[str, Any]]]:
    app = typer.Typer()
    given: list[dict[str, Any]] = []

    @app.command()
    @setting_options(only={"secrets"})
    def command(settings: dict[str, Any] | None = None) -> None:
        given.append(settings or {})

    return app, given


def test_each_secret_option_is_one_entry_of_the_mapping_and_file_is_the_default() -> None:
    app, given = _command()

    result = CliRunner().invoke(
        app, ["--secret", "API_KEY=env", "--secret", "db.password", "--secrets", "TOKEN=file"]
    )

    assert result.exit_code == 0, result.output
    assert given == [{"secrets": {"API_KEY": "env", "db.password": "file", "TOKEN": "file"}}]


def test_without_the_option_the_mapping_is_left_alone() -> None:
    app, given = _command()

    result = CliRunner().invoke(app, [])

    assert result.exit_code == 0, result.output
    assert given == [{}]


def test_a_servers_event_run_here_maps_no_secrets() -> None:
    stored = {"name": "nightly", "language": "bash", "script": "true", "secrets": {"K": "env"}}

    assert event_settings(None, stored, Given()).secrets == {}
