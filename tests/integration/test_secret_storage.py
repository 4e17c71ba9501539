"""Secrets at rest and the deployment key: where it comes from, the checks at start, rotation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cronium import keys
from cronium.crypto import Keyring, generate_key, key_id_of, parse_key
from cronium.domain.audit import AuditAction
from cronium.domain.user import Role
from cronium.domain.variable import VariableChange
from cronium.errors import ConfigurationError
from cronium.server import opened_store
from cronium.settings import Settings
from cronium.storage import Store
from cronium.storage.tables import VariableRow
from cronium.storage.transactions import Unit

SECRET = "octopus-glacier-5521-secret"
PLAIN = "walrus-lantern-9034-plain"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def embedded(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


async def write_secret(settings: Settings, key: str = "token", value: Any = SECRET) -> int:
    async with opened_store(settings) as store:
        owner = await store.users.create(f"o-{key}", role=Role.USER, now=NOW)
        await store.variables.write(owner.id, key, VariableChange(value, secret=True), NOW)
        return owner.id


async def read_secret(settings: Settings, owner_id: int, key: str = "token") -> Any:
    async with opened_store(settings) as store:
        return (await store.variables.get(owner_id, key, NOW))[1]


async def ciphertext_ids(store: Store) -> set[str]:
    async with store.db.read() as session:
        texts = await session.scalars(
            VariableRow.__table__.select().with_only_columns(VariableRow.ciphertext)
        )
        return {key_id_of(text) for text in texts if text}


async def test_the_embedded_database_makes_its_key_private_on_first_start_and_keeps_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "deep" / "data"
    settings = embedded(data_dir)
    owner = await write_secret(settings)
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = keys.read_key_file(key_file)
    assert await read_secret(settings, owner) == SECRET  # the second start reads the same key
    assert keys.read_key_file(key_file) == first


async def test_no_plaintext_of_a_secret_reaches_the_database_file_or_its_wal(
    tmp_path: Path,
) -> None:
    settings = embedded(tmp_path)
    async with opened_store(settings) as store:
        owner = await store.users.create("o", role=Role.USER, now=NOW)
        await store.variables.write(owner.id, "s1", VariableChange(SECRET, secret=True), NOW)
        nested = {"password": SECRET, "list": [SECRET]}
        await store.variables.write(owner.id, "s2", VariableChange(nested, secret=True), NOW)
        await store.variables.put(owner.id, "p", PLAIN, NOW)
        wal = tmp_path / "cronium.db-wal"
        raw = (tmp_path / "cronium.db").read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert wal.exists(), "the writes are in the WAL"
        assert wal.stat().st_size > 0
        assert PLAIN.encode() in raw, "the search finds what is stored in plain"
        assert SECRET.encode() not in raw
        assert SECRET.encode("utf-16-le") not in raw


async def test_a_malformed_key_file_refuses_start_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "key"
    bad.write_text("not a key at all\n")
    monkeypatch.setenv("CRONIUM_SECRET_KEY_FILE", str(bad))
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigurationError) as refused:
        async with opened_store(settings):
            pass
    assert f"CRONIUM_SECRET_KEY_FILE={bad} is not a secret key" in refused.value.message
    assert "cronium secrets generate-key" in refused.value.message
    assert not (tmp_path / "data" / "cronium.db").exists(), "refused before the database"


def test_an_unreadable_key_file_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cronium.settings import load_settings

    monkeypatch.setenv("CRONIUM_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_settings()


async def test_postgresql_without_a_key_refuses_start_saying_how_to_make_one(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    with pytest.raises(ConfigurationError) as refused:
        async with opened_store(settings):
            pass
    message = refused.value.message
    assert "PostgreSQL" in message
    assert "cronium secrets generate-key > FILE" in message
    assert "CRONIUM_SECRET_KEY_FILE=FILE" in message


def test_the_api_command_on_postgresql_without_a_key_exits_with_the_reason(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    env["CRONIUM_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    env["CRONIUM_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "cronium", "api", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "no secret key" in said
    assert "cronium secrets generate-key > FILE" in said


def test_a_key_file_open_to_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(generate_key())
    key_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        keys.read_key_file(key_file)


async def test_a_server_given_another_key_refuses_to_start_naming_both(tmp_path: Path) -> None:
    first, second = generate_key(), generate_key()
    await write_secret(Settings(data_dir=tmp_path, secret_key=first))
    with pytest.raises(ConfigurationError) as refused:
        async with opened_store(Settings(data_dir=tmp_path, secret_key=second)):
            pass
    first_id = Keyring(parse_key(first, "t")).key_id
    second_id = Keyring(parse_key(second, "t")).key_id
    assert f"encrypted with key {first_id}" in refused.value.message
    assert f"this server's key is {second_id}" in refused.value.message


async def test_rotating_the_embedded_key_reencrypts_every_secret_and_switches_the_file(
    tmp_path: Path,
) -> None:
    settings = embedded(tmp_path)
    owners = [await write_secret(settings, key, f"{SECRET}-{key}") for key in ("a", "b")]
    old = keys.read_key_file(tmp_path / "secret.key")
    async with opened_store(settings) as store:
        done = await keys.rotate(settings, store, NOW)
        assert done.rewritten == 2
        assert await ciphertext_ids(store) == {done.new_id}
        entries = await store.audit.find(action=AuditAction.SECRET_KEY_ROTATE)
        assert entries[0].detail == {"from": done.old_id, "to": done.new_id, "rewritten": 2}
    new = keys.read_key_file(tmp_path / "secret.key")
    assert new != old
    assert Keyring(new).key_id == done.new_id != done.old_id
    assert not (tmp_path / "secret.key.new").exists()
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert [await read_secret(settings, o, k) for o, k in zip(owners, "ab", strict=True)] == [
        f"{SECRET}-a",
        f"{SECRET}-b",
    ]


async def test_a_rotation_interrupted_after_its_commit_is_finished_by_running_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = embedded(tmp_path)
    owner = await write_secret(settings)
    old = keys.read_key_file(tmp_path / "secret.key")

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed between the commit and the rename")

    monkeypatch.setattr(keys.os, "replace", crash)
    async with opened_store(settings) as store:
        with pytest.raises(KeyboardInterrupt):
            await keys.rotate(settings, store, NOW)
    monkeypatch.undo()
    pending = keys.read_key_file(tmp_path / "secret.key.new")
    assert keys.read_key_file(tmp_path / "secret.key") == old
    # the server still starts (it holds both keys) and reads the secret under the new key
    async with opened_store(settings) as store:
        assert await ciphertext_ids(store) == {Keyring(pending).key_id}
        assert (await store.variables.get(owner, "token", NOW))[1] == SECRET
        done = await keys.rotate(settings, store, NOW)
    assert done.rewritten == 0
    assert keys.read_key_file(tmp_path / "secret.key") == pending
    assert not (tmp_path / "secret.key.new").exists()
    assert await read_secret(settings, owner) == SECRET


class Exploding:
    async def key_ids(self) -> set[str]:
        return set()

    async def reencrypt(self, unit: Unit, old: Keyring, new: Keyring) -> int:
        raise KeyboardInterrupt("killed before the commit")


async def test_a_rotation_interrupted_before_its_commit_changes_nothing_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = embedded(tmp_path)
    owner = await write_secret(settings)
    old_id = Keyring(keys.read_key_file(tmp_path / "secret.key")).key_id
    real = keys.encrypted_stores
    monkeypatch.setattr(keys, "encrypted_stores", lambda store: [*real(store), Exploding()])
    async with opened_store(settings) as store:
        with pytest.raises(KeyboardInterrupt):
            await keys.rotate(settings, store, NOW)
        assert await ciphertext_ids(store) == {old_id}, "the transaction was rolled back"
    monkeypatch.undo()
    pending_id = Keyring(keys.read_key_file(tmp_path / "secret.key.new")).key_id
    async with opened_store(settings) as store:
        done = await keys.rotate(settings, store, NOW)
        assert (done.old_id, done.new_id, done.rewritten) == (old_id, pending_id, 1)
    assert await read_secret(settings, owner) == SECRET


async def test_rotating_a_configured_key_needs_the_new_key_and_says_to_switch_the_setting(
    tmp_path: Path,
) -> None:
    old, new = generate_key(), generate_key()
    settings = Settings(data_dir=tmp_path, secret_key=old)
    owner = await write_secret(settings)
    async with opened_store(settings) as store:
        with pytest.raises(ConfigurationError, match="--new-key-file"):
            await keys.rotate(settings, store, NOW)
        new_file = tmp_path / "new.key"
        keys.write_key_file(new_file, new)
        done = await keys.rotate(settings, store, NOW, new_file)
    assert done.switch_setting
    assert done.rewritten == 1
    with pytest.raises(ConfigurationError, match=done.new_id):
        async with opened_store(settings):
            pass
    assert await read_secret(Settings(data_dir=tmp_path, secret_key=new), owner) == SECRET
