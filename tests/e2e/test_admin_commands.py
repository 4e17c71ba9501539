"""The server-side commands that work on the database directly."""

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.server import start_server


def cronium(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env={**env, "CRONIUM_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    result = cronium(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "cronium.db").exists()


def test_create_admin_prints_a_token_that_the_server_accepts(tmp_path: Path) -> None:
    result = cronium(tmp_path, "users", "create-admin", "ops")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("crn_")
    again = cronium(tmp_path, "users", "create-admin", "ops")
    assert again.returncode == 2
    assert "a user named 'ops' already exists" in again.stderr
    server = start_server(tmp_path, {"CRONIUM_SANDBOX": "local-insecure"})
    try:
        assert server.token is None  # a user exists already: no bootstrap admin
        with server.client() as client:
            client.headers["Authorization"] = f"Bearer {token}"
            assert client.get("/api/v1/users/me").json()["name"] == "ops"
    finally:
        server.stop()


def test_a_bad_setting_is_reported_with_its_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    result = subprocess.run(
        [sys.executable, "-m", "cronium", "server"],
        env={**env, "CRONIUM_DATA_DIR": str(tmp_path), "CRONIUM_SANDBOX": "chroot"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CRONIUM_SANDBOX" in result.stderr
