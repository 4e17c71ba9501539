"""Values as a person reads them: JSON (not Python's reprs), durations and sizes with units,
times in the local zone (or the one given) with the zone named."""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from typing import Any

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LONG_JSON = 60  # characters: a longer value is printed over several lines


def duration(seconds: float) -> str:
    """``0.4857`` -> ``486 ms``; ``75`` -> ``1 min 15 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s".replace(".00 s", " s")
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def size(count: int) -> str:
    """``12345678`` -> ``11.8 MiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def moment(text: str, zone: tzinfo | None = None) -> str:
    """An ISO time in ``zone`` (default: this machine's), seconds shown, zone named."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone)
    return f"{when:%Y-%m-%d %H:%M:%S} {when.tzname()}"


def as_json(value: Any, *, pretty: bool = False) -> str:
    if pretty:
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= LONG_JSON else json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def shown(name: str, value: Any, *, pretty: bool = False) -> str:
    """The field ``name``'s value as a person reads it (empty for none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and name.endswith("_seconds"):
        return duration(value)
    if isinstance(value, int) and name.endswith("_bytes"):
        return size(value)
    if isinstance(value, str) and TIMESTAMP.match(value):
        return moment(value)
    if isinstance(value, dict | list):
        return as_json(value, pretty=pretty)
    return str(value)
