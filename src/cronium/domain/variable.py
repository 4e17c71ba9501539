"""Variables: JSON values kept by key for their owner, read and written by scripts and users.

A variable may carry a description, an expiry (expired, it reads as missing everywhere), a
JSON Schema (every write is checked against it) and a secret flag (its value is stored
encrypted and never listed; scripts read it through the runtime API, its owner by a reveal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from cronium.errors import InvalidInputError

KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")  # whole keys: fullmatch
MAX_DESCRIPTION = 1000
MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 32
MAX_EXPIRY_SECONDS = 100 * 365 * 24 * 3600  # a hundred years: beyond, a datetime overflows


def check_key(key: str) -> str:
    """``key``, or InvalidInputError saying what a key may be."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInputError(
            f"variable key {key!r} is not valid: use 1 to 128 letters, digits, '_', '.' or "
            "'-', starting with a letter, a digit or '_'"
        )
    return key


class Unchanged(Enum):
    """A field a write leaves as it was stored."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable. ``value`` is None for a secret unless it was decrypted on purpose
    (``revealed``)."""

    key: str
    value: Any
    description: str
    expires_at: datetime | None
    schema: dict[str, Any] | None
    secret: bool
    updated_at: datetime
    revealed: bool = False

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class VariableChange:
    """One write: a new value, and the metadata to set (or leave as stored: UNCHANGED)."""

    value: Any
    description: str | Unchanged = UNCHANGED
    schema: dict[str, Any] | Unchanged | None = UNCHANGED
    secret: bool | Unchanged = UNCHANGED
    expires_at: datetime | Unchanged | None = UNCHANGED


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInputError(
            f"the description is {len(description)} characters long: keep it to {MAX_DESCRIPTION}"
        )
    return description


def check_schema(schema: Any) -> dict[str, Any]:
    """``schema`` if it is a JSON Schema (Draft 2020-12) within the bounds, else
    InvalidInputError saying what is wrong with it."""
    if not isinstance(schema, dict):
        raise InvalidInputError("the schema must be a JSON object (a JSON Schema)")
    size = len(json.dumps(schema, separators=(",", ":")).encode())
    if size > MAX_SCHEMA_BYTES:
        raise InvalidInputError(
            f"the schema is {size} bytes of JSON: keep it under {MAX_SCHEMA_BYTES} bytes"
        )
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise InvalidInputError(f"the schema nests deeper than {MAX_SCHEMA_DEPTH} levels")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = _path(exc.absolute_path)
        raise InvalidInputError(
            f"the schema is not a valid JSON Schema (Draft 2020-12): at {where}: {exc.message}"
        ) from None
    return schema


def check_value(key: str, value: Any, schema: dict[str, Any] | None) -> None:
    """InvalidInputError naming the path and the reason if ``value`` fails ``schema``. The
    message never quotes the value itself (it may be a secret)."""
    if schema is None:
        return
    validator = Draft202012Validator(schema)
    error = min(validator.iter_errors(value), key=_error_order, default=None)
    if error is not None:
        raise InvalidInputError(
            f"the value of variable {key!r} does not match its schema: at "
            f"{_path(error.absolute_path)}: {_reason(error)}"
        )


def as_text(value: Any) -> str:
    """A value as a script prints it: a JSON string as the string, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _error_order(error: Any) -> tuple[int, str]:
    return (len(error.absolute_path), str(list(error.absolute_path)))


def _reason(error: Any) -> str:
    """Why a value failed, without the value: jsonschema's messages quote the instance."""
    keyword = error.validator
    expected = error.validator_value
    if keyword in ("type", "enum", "const", "format", "pattern"):
        return f"must satisfy {keyword} {json.dumps(expected)[:200]}"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        return f"must satisfy {keyword} {expected}"
    if keyword in ("minLength", "maxLength", "minItems", "maxItems"):
        return f"must satisfy {keyword} {expected}"
    if keyword == "required":
        return f"is missing a required property ({error.message.split(' ')[0]})"
    if keyword == "additionalProperties":
        return "has properties the schema does not allow"
    return f"fails the schema's {keyword!r} rule"


def _path(path: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _depth(value: Any) -> int:
    """How deep ``value`` nests (without recursion: a deep document must not overflow)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo.extend((child, level + 1) for child in children)
    return deepest
