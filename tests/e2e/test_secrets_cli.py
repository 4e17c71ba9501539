"""``cronium vars`` with secrets, schemas and expiry, and ``cronium secrets``, against a real
server process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cronium.crypto import Keyring, parse_key
from tests.e2e.server import RunningServer, cli, default_server

SECRET = "heron-basalt-6620-cli"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[RunningServer]:
    yield from default_server(data_dir)


def cronium(
    *args: str, data_dir: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env={**env, "CRONIUM_DATA_DIR": str(data_dir)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_server_made_its_key_in_the_data_dir(server: RunningServer, data_dir: Path) -> None:
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_a_secret_set_from_a_file_is_hidden_by_list_and_get_and_printed_by_reveal(
    server: RunningServer, tmp_path: Path
) -> None:
    value_file = tmp_path / "pw"
    value_file.write_text(f"{SECRET}\n")
    done = cli(server, "vars", "set", "pw", "--secret", "--from-file", str(value_file),
               "--description", "the database password")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "***" in done.stdout
    listed = cli(server, "vars", "list")
    assert "pw" in listed.stdout
    assert "***" in listed.stdout
    assert "the database password" in listed.stdout
    assert SECRET not in listed.stdout
    as_json = json.loads(cli(server, "vars", "list", "--json").stdout)
    assert [(v["key"], v["value"], v["secret"]) for v in as_json if v["key"] == "pw"] == [
        ("pw", None, True)
    ]
    got = cli(server, "vars", "get", "pw")
    assert got.stdout.strip() == "***"
    assert "vars reveal pw" in got.stderr
    revealed = cli(server, "vars", "reveal", "pw")
    assert revealed.returncode == 0, revealed.stderr
    assert json.loads(revealed.stdout) == SECRET


def test_a_secret_value_can_come_from_standard_input(server: RunningServer) -> None:
    env = {**os.environ, "CRONIUM_URL": server.url, "CRONIUM_TOKEN": server.token or ""}
    done = subprocess.run(
        [sys.executable, "-m", "cronium", "vars", "set", "piped", "--secret"],
        env=env,
        input=f"{SECRET}-piped\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(cli(server, "vars", "reveal", "piped").stdout) == f"{SECRET}-piped"


def test_a_schema_file_is_enforced_on_every_later_set(
    server: RunningServer, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "integer", "minimum": 1}))
    assert cli(server, "vars", "set", "workers", "3", "--schema-file", str(schema)).returncode == 0
    refused = cli(server, "vars", "set", "workers", "0")
    assert refused.returncode == 2
    assert "does not match its schema" in refused.stderr
    assert "minimum 1" in refused.stderr
    assert json.loads(cli(server, "vars", "get", "workers").stdout) == 3
    bad_schema = tmp_path / "bad.json"
    bad_schema.write_text(json.dumps({"type": 12}))
    invalid = cli(server, "vars", "set", "other", "1", "--schema-file", str(bad_schema))
    assert invalid.returncode == 2
    assert "not a valid JSON Schema" in invalid.stderr


def test_expires_in_takes_a_duration_and_a_bad_one_is_refused(server: RunningServer) -> None:
    assert cli(server, "vars", "set", "lease", "1", "--expires-in", "1h30m").returncode == 0
    shown = json.loads(cli(server, "vars", "get", "lease", "--json").stdout)
    assert shown["expires_at"] is not None
    bad = cli(server, "vars", "set", "lease", "1", "--expires-in", "soon")
    assert bad.returncode == 2
    assert "not a duration" in bad.stderr


def test_generate_key_prints_a_key(tmp_path: Path) -> None:
    done = cronium("secrets", "generate-key", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(parse_key(done.stdout, "output")) == 32
    again = cronium("secrets", "generate-key", data_dir=tmp_path).stdout
    assert again != done.stdout


def test_rotate_key_reencrypts_and_the_server_starts_on_the_new_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "rotated"
    first = next(iter(default_server(data_dir)), None)
    assert first is not None
    try:
        assert cli(first, "vars", "set", "k", SECRET, "--secret").returncode == 0
    finally:
        first.stop()
    old_id = Keyring(parse_key((data_dir / "secret.key").read_text(), "k")).key_id
    rotated = cronium("secrets", "rotate-key", data_dir=data_dir)
    assert rotated.returncode == 0, rotated.stderr
    new_id = Keyring(parse_key((data_dir / "secret.key").read_text(), "k")).key_id
    assert new_id != old_id
    assert f"Re-encrypted 1 secret(s) from key {old_id} to key {new_id}" in rotated.stdout
    second = next(iter(default_server(data_dir)), None)
    assert second is not None
    try:
        second.token = first.token
        assert json.loads(cli(second, "vars", "reveal", "k").stdout) == SECRET
    finally:
        second.stop()


def test_rotate_key_with_a_configured_key_needs_the_new_key_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    key = cronium("secrets", "generate-key", data_dir=tmp_path).stdout
    done = subprocess.run(
        [sys.executable, "-m", "cronium", "secrets", "rotate-key"],
        env={**env, "CRONIUM_DATA_DIR": str(tmp_path), "CRONIUM_SECRET_KEY": key.strip()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--new-key-file" in done.stderr
