"""Hiding a run's secrets in what it leaves behind: its log lines, its output and its errors.

A :class:`Masker` holds the values of the run owner's secrets and replaces each occurrence of
one by ``***``: in a text (a log line, an error), and in every string of a JSON value (an
output), keys included. One compiled pattern finds them all in one pass: the values' trie as a
regular expression (each position of a text tries the distinct first characters, not every
value), which always takes the longest value there, so that a secret containing another is
masked whole. Values shorter than
``MIN_MASKED_LENGTH`` characters are not masked (they would mask ordinary text: ``"on"``,
``"42"``); each line of a multi-line value is masked as a value of its own, since a log line
holds one line of it at most.

Lines are masked whole, never chunks of them: the sandbox's line collector assembles lines from
what the script wrote, however it was split. A line too long to be kept whole is cut in pieces
(``OutputLine.continued``); :class:`LineMasking` holds each piece until the next one has come, so
that a secret straddling a cut is masked too (in the first piece; the second starts after it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from cronium.sandbox.spec import OutputLine

MASK = "***"
MIN_MASKED_LENGTH = 4


class Masker:
    """Masks the values it was given (see the module's docstring); with none, it changes
    nothing and costs nothing."""

    __slots__ = ("_pattern", "longest")

    def __init__(self, values: Iterable[str] = ()) -> None:
        masked = set()
        for value in values:
            masked.add(value)
            masked.update(part.rstrip("\r") for part in value.split("\n"))
        kept = sorted(
            (value for value in masked if len(value) >= MIN_MASKED_LENGTH),
            key=lambda value: (-len(value), value),
        )
        self.longest = len(kept[0]) if kept else 0
        self._pattern = _pattern_of(kept) if kept else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """``text`` with every secret in it replaced by ``***``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self.text(text)

    def json(self, value: Any) -> Any:
        """A JSON value with every string in it masked (object keys too), however deep."""
        if self._pattern is None:
            return value
        return self._json(value)

    def _json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._json(key): self._json(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._json(item) for item in value]
        return value

    def straddling(self, first: str, second: str) -> tuple[str, str]:
        """Two pieces of one cut line, masked as if they were one: the first piece whole (a
        secret straddling the cut is masked in it), and what is left of the second to mask
        once the piece after it is known."""
        if self._pattern is None:
            return first, second
        window = first + second[: self.longest - 1]
        for found in self._pattern.finditer(window):
            if found.start() < len(first) < found.end():
                cut = found.end()
                return self.text(window[:cut]), second[cut - len(first) :]
        return self.text(first), second


def _pattern_of(values: list[str]) -> re.Pattern[str]:
    """A pattern matching the longest of ``values`` (longest first) at any position."""
    try:
        return re.compile(_trie_pattern(values))
    except (RecursionError, re.error):  # a trie too deep to write: one value after another
        return re.compile("|".join(map(re.escape, values)))


def _trie_pattern(values: list[str]) -> str:
    root: dict[str, Any] = {}
    for value in values:
        node = root
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}  # a value ends here
    return _node_pattern(root)


def _node_pattern(node: dict[str, Any]) -> str:
    """What may follow a trie's node: its children tried before the end of a value (a longer
    value first); runs of single children are written as one literal."""
    branches = []
    for char in sorted(key for key in node if key):
        literal, child = char, node[char]
        while len(child) == 1 and "" not in child:
            ((following, child),) = child.items()
            literal += following
        branches.append(re.escape(literal) + _node_pattern(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    if "" not in node:
        return body
    return f"(?:{body})?" if len(branches) == 1 else f"{body}?"


class LineMasking:
    """A run's output lines, masked, in the order they came; a piece of a cut line waits for
    the next piece of its stream (see the module's docstring)."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self._held: dict[str, OutputLine] = {}

    def feed(self, line: OutputLine) -> list[OutputLine]:
        """The lines that are ready once ``line`` came (none, one or two)."""
        if not self.masker:
            return [line]
        ready = []
        held = self._held.pop(line.stream, None)
        if held is not None:
            first, rest = self.masker.straddling(held.text, line.text)
            ready.append(dataclasses.replace(held, text=first))
            line = dataclasses.replace(line, text=rest)
        if line.continued:
            self._held[line.stream] = line
        else:
            ready.append(dataclasses.replace(line, text=self.masker.text(line.text)))
        return ready

    def finish(self) -> list[OutputLine]:
        """The pieces still held (their stream was cut off after them), masked."""
        held, self._held = list(self._held.values()), {}
        return [dataclasses.replace(line, text=self.masker.text(line.text)) for line in held]
