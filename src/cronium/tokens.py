"""API token secrets: made here, shown once, stored only as a SHA-256 hash.

The secrets are 256 random bits, so a fast hash is enough: nothing can be guessed from it, and
looking a token up by its hash is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "crn_"
DISPLAY_PREFIX_LENGTH = 12


def new_token_secret() -> str:
    """A fresh API token, as handed to its owner."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    """The hex digest under which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The start of a token, enough for its owner to recognise it in a list."""
    return secret[:DISPLAY_PREFIX_LENGTH]
