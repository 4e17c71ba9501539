"""Encryption of stored secrets: AES-256-GCM under one deployment key.

The key is 32 random bytes, written in base64 (``cronium secrets generate-key``). Every stored
ciphertext names the key it was made with (``v1:<key id>:<base64 nonce + ciphertext>``), so a
server given the wrong key says so instead of returning garbage, and a key rotation interrupted
half-way can be resumed. Each ciphertext is bound to where it is stored (``context``, e.g. the
variable's owner and key): moved to another row it no longer decrypts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cronium.errors import ConfigurationError, CroniumError

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"
HOW_TO_MAKE_ONE = "make one with `cronium secrets generate-key > FILE` (keep FILE mode 0600)"


class SecretDecryptionError(CroniumError):
    """A stored secret cannot be decrypted with the key this process has."""


def generate_key() -> str:
    """A new deployment key, in the form the settings take."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str, source: str) -> bytes:
    """The 32 bytes a key's text stands for; ConfigurationError naming ``source`` if it is not
    a key."""
    stripped = text.strip().replace("-", "+").replace("_", "/")  # url-safe base64 too
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(
            f"{source} is not a secret key: a key is {KEY_BYTES} random bytes in base64 "
            f"({(KEY_BYTES + 2) // 3 * 4} characters); {HOW_TO_MAKE_ONE}"
        )
    return raw


def derive(key: bytes, purpose: str) -> bytes:
    """A sub-key of ``key`` for one ``purpose`` (encryption, token signing...)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(key)


class Keyring:
    """Encrypts with the current key; decrypts with it or with any of ``previous`` (a rotation
    that is still going on)."""

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = ()) -> None:
        self._current = _Key(key)
        self._keys = {k.id: k for k in (self._current, *(_Key(p) for p in previous))}

    @property
    def key_id(self) -> str:
        """The current key's public id (8 hex digits), as written in every ciphertext."""
        return self._current.id

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        body = base64.b64encode(nonce + sealed).decode("ascii")
        return f"{VERSION}:{self._current.id}:{body}"

    def decrypt(self, stored: str, *, context: str) -> str:
        key_id = key_id_of(stored)
        key = self._keys.get(key_id)
        if key is None:
            raise SecretDecryptionError(
                f"a stored secret was encrypted with key {key_id}, but this server's key is "
                f"{self.key_id}: start it with the key the secrets were written with "
                "(CRONIUM_SECRET_KEY or CRONIUM_SECRET_KEY_FILE)"
            )
        raw = base64.b64decode(stored.split(":", 2)[2])
        try:
            plain = key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise SecretDecryptionError(
                f"a stored secret ({context}) does not decrypt with key {key_id}: it was "
                "altered or moved"
            ) from exc
        return plain.decode("utf-8")

    def holds(self, key_id: str) -> bool:
        return key_id in self._keys


def key_id_of(stored: str) -> str:
    """The id of the key a stored ciphertext was made with."""
    version, _, rest = stored.partition(":")
    key_id, _, body = rest.partition(":")
    if version != VERSION or not key_id or not body:
        raise SecretDecryptionError("a stored secret is not in a form this version reads")
    return key_id


class _Key:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"a secret key is {KEY_BYTES} bytes, not {len(key)}")
        self.aead = AESGCM(derive(key, "cronium secrets v1"))
        self.id = hashlib.sha256(derive(key, "cronium key id")).hexdigest()[:8]
