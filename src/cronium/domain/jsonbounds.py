"""How deep a JSON value may nest: checked without recursion, before anything parses or
stores it, so that no value can later make a read or a serialisation fail."""

from __future__ import annotations

import re
from typing import Any

from cronium.errors import InvalidInputError

DEFAULT_MAX_DEPTH = 64
_STRUCTURE = re.compile(rb'["\\\[\]{}]')


def json_depth_error(body: bytes, max_depth: int) -> str | None:
    """Why ``body`` nests deeper than ``max_depth`` arrays and objects, or None. A scan, not a
    parse: no recursion, whatever the input."""
    depth, in_string, escaped_at = 0, False, -1
    for match in _STRUCTURE.finditer(body):
        if match.start() == escaped_at:
            continue  # the character after a backslash, in a string
        char = match.group()
        if char == b"\\":
            if in_string:
                escaped_at = match.start() + 1
        elif char == b'"':
            in_string = not in_string
        elif not in_string:
            depth += 1 if char in (b"[", b"{") else -1
            if depth > max_depth:
                return (
                    f"the JSON is nested more than {max_depth} levels deep: flatten it"
                    " (the limit is CRONIUM_JSON_MAX_DEPTH)"
                )
    return None


def check_json_depth(value: Any, max_depth: int, what: str) -> None:
    """InvalidInputError if the JSON value ``value`` nests deeper than ``max_depth``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidInputError(
                    f"{what} is nested more than {max_depth} levels deep: flatten it"
                    " (the limit is CRONIUM_JSON_MAX_DEPTH)"
                )
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
