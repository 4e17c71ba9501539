"""The deployment key: where it comes from, how it is checked at start, how it is rotated.

The key comes from ``CRONIUM_SECRET_KEY`` or ``CRONIUM_SECRET_KEY_FILE``. Without either, the
embedded SQLite database keeps one in ``<data dir>/secret.key`` (made on first start, 0600, in
a 0700 directory); a PostgreSQL deployment refuses to start (several machines must share the
key, so it cannot be made on one of them).

A rotation (:func:`rotate`) re-encrypts every stored ciphertext in one transaction, then
switches the key. For the embedded key, the new key is written to ``secret.key.new`` first and
renamed over ``secret.key`` after the commit; a process that finds ``secret.key.new`` holds both
keys (a rotation was interrupted), and a rotation run again finishes the job: rows already
under the new key are recognised by its id.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cronium.crypto import HOW_TO_MAKE_ONE, Keyring, generate_key, parse_key
from cronium.domain.audit import AuditAction
from cronium.errors import ConfigurationError
from cronium.settings import ENV_PREFIX, Settings
from cronium.storage import Store
from cronium.storage.database import private_directory
from cronium.storage.transactions import Unit

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"
NEW_KEY_FILE = "secret.key.new"
KEY_SETTING = f"{ENV_PREFIX}SECRET_KEY"
KEY_FILE_SETTING = f"{ENV_PREFIX}SECRET_KEY_FILE"


class Encrypted(Protocol):
    """A repository that keeps ciphertexts under the deployment key."""

    async def key_ids(self) -> set[str]: ...

    async def reencrypt(self, unit: Unit, old: Keyring, new: Keyring) -> int: ...


def encrypted_stores(store: Store) -> list[Encrypted]:
    """Every repository holding ciphertexts: what the start-up check reads and a rotation
    rewrites. A new table of encrypted values is added here."""
    return [store.variables, store.tools]


def keyring_for(settings: Settings) -> Keyring:
    """The deployment key of ``settings``: configured, or the embedded database's own.
    ConfigurationError saying what to fix if there is none or it is not a key."""
    if settings.secret_key is not None:
        return Keyring(parse_key(settings.secret_key.get_secret_value(), _source()))
    if not is_embedded(settings):
        raise ConfigurationError(
            f"no secret key: a PostgreSQL deployment needs one, the same on every server; "
            f"{HOW_TO_MAKE_ONE}, then set {KEY_FILE_SETTING}=FILE"
        )
    data_dir = settings.data_dir
    key = _read_or_make(data_dir / KEY_FILE)
    pending = data_dir / NEW_KEY_FILE
    if not pending.exists():
        return Keyring(key)
    log.warning(
        "a key rotation was interrupted (%s exists): run `cronium secrets rotate-key` to finish it",
        pending,
    )
    return Keyring(key, previous=(read_key_file(pending),))


def is_embedded(settings: Settings) -> bool:
    """Whether the database is SQLite (whose key may live in the data directory)."""
    return settings.database_url_value.startswith("sqlite")


async def check_keys(store: Store) -> None:
    """ConfigurationError naming both key ids unless the store's keyring can decrypt every
    stored ciphertext."""
    keyring = store.keyring
    for repository in encrypted_stores(store):
        for key_id in sorted(await repository.key_ids()):
            if keyring is None or not keyring.holds(key_id):
                have = "none" if keyring is None else keyring.key_id
                raise ConfigurationError(
                    f"stored secrets were encrypted with key {key_id}, but this server's key "
                    f"is {have}: start it with the key they were written with "
                    f"({KEY_SETTING} or {KEY_FILE_SETTING})"
                )


def read_key_file(path: Path) -> bytes:
    """The key in ``path``; ConfigurationError if it cannot be read, is open to others or is
    not a key."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ConfigurationError(f"the key file {path} cannot be read: {exc.strerror}") from None
    with os.fdopen(descriptor, encoding="ascii", errors="replace") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigurationError(f"the key file {path} is not a regular file")
        if mode & 0o077:
            raise ConfigurationError(
                f"the key file {path} is open to other users (mode {mode & 0o777:o}): "
                f"chmod 600 {path}"
            )
        return parse_key(file.read(), str(path))


def write_key_file(path: Path, key: str) -> bool:
    """Write ``key`` to ``path`` (0600) if there is no such file yet, completely or not at
    all; whether this call wrote it (another process may have been first)."""
    private_directory(path.parent)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        draft.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(draft, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, f"{key}\n".encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(draft, path)  # fails if it exists: the first writer wins, whole
        _sync_directory(path.parent)
        return True
    except FileExistsError:
        return False
    finally:
        draft.unlink()


def _read_or_make(path: Path) -> bytes:
    if not path.exists() and write_key_file(path, generate_key()):
        log.info("made a new secret key in %s; back it up with the database", path)
    return read_key_file(path)


def _source() -> str:
    """Which setting the configured key came from, for messages."""
    named = os.environ.get(KEY_FILE_SETTING)
    return f"{KEY_FILE_SETTING}={named}" if named else KEY_SETTING


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- rotation


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: the key ids, how many ciphertexts it rewrote, and whether the
    operator must still switch the setting to the new key."""

    old_id: str
    new_id: str
    rewritten: int
    switch_setting: bool


async def reencrypt_all(
    store: Store, old: Keyring, new: Keyring, now: datetime, actor: str | None = None
) -> int:
    """Re-encrypt every ciphertext not yet under ``new`` in ONE transaction, and audit it."""
    rewritten = 0
    async with store.db.write() as unit:
        for repository in encrypted_stores(store):
            rewritten += await repository.reencrypt(unit, old, new)
        await store.audit.record(
            AuditAction.SECRET_KEY_ROTATE,
            at=now,
            actor=actor,
            target=f"key:{new.key_id}",
            detail={"from": old.key_id, "to": new.key_id, "rewritten": rewritten},
            unit=unit,
        )
    return rewritten


async def rotate(
    settings: Settings, store: Store, now: datetime, new_key_file: Path | None = None
) -> Rotation:
    """Re-encrypt everything under a new key and switch to it (see the module's docstring).
    ``store`` must have been opened with :func:`keyring_for`'s keyring."""
    if settings.secret_key is not None:
        return await _rotate_configured(settings, store, now, new_key_file)
    if not is_embedded(settings):
        keyring_for(settings)  # raises: no key
    return await _rotate_embedded(settings.data_dir, store, now, new_key_file)


async def _rotate_configured(
    settings: Settings, store: Store, now: datetime, new_key_file: Path | None
) -> Rotation:
    assert settings.secret_key is not None
    if new_key_file is None:
        raise ConfigurationError(
            f"the key is configured ({_source()}): give the new one with --new-key-file FILE "
            f"({HOW_TO_MAKE_ONE})"
        )
    old = parse_key(settings.secret_key.get_secret_value(), _source())
    new = read_key_file(new_key_file)
    new_ring = Keyring(new)
    rewritten = await reencrypt_all(store, Keyring(old, previous=(new,)), new_ring, now)
    return Rotation(Keyring(old).key_id, new_ring.key_id, rewritten, switch_setting=True)


async def _rotate_embedded(
    data_dir: Path, store: Store, now: datetime, new_key_file: Path | None
) -> Rotation:
    current, pending = data_dir / KEY_FILE, data_dir / NEW_KEY_FILE
    old = read_key_file(current)
    new = _pending_key(pending, new_key_file)
    new_ring = Keyring(new)
    rewritten = await reencrypt_all(store, Keyring(old, previous=(new,)), new_ring, now)
    os.replace(pending, current)  # after the commit: the rows are under the new key now
    _sync_directory(data_dir)
    return Rotation(Keyring(old).key_id, new_ring.key_id, rewritten, switch_setting=False)


def _pending_key(pending: Path, new_key_file: Path | None) -> bytes:
    """The key an interrupted rotation was moving to, or a new one written to ``pending``."""
    given = None if new_key_file is None else read_key_file(new_key_file)
    if pending.exists():
        waiting = read_key_file(pending)
        if given is not None and given != waiting:
            raise ConfigurationError(
                f"an interrupted rotation to key {Keyring(waiting).key_id} is pending "
                f"({pending}): run `cronium secrets rotate-key` without --new-key-file to "
                "finish it first"
            )
        return waiting
    text = generate_key() if given is None else _text_of(given)
    write_key_file(pending, text)
    return read_key_file(pending)


def _text_of(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")
