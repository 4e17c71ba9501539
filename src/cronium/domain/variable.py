"""Variables: JSON values kept by key for their owner, read and written by scripts and users."""

from __future__ import annotations

import re

from cronium.errors import InvalidInputError

KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")  # whole keys: fullmatch


def check_key(key: str) -> str:
    """``key``, or InvalidInputError saying what a key may be."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInputError(
            f"variable key {key!r} is not valid: use 1 to 128 letters, digits, '_', '.' or "
            "'-', starting with a letter, a digit or '_'"
        )
    return key
