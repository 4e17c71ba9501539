"""The ``cronium`` command. Thin: parse, call the service or the API, format the answer.

One module per group of commands; ``common.py`` holds the command tree and what they share.
"""

from __future__ import annotations

import importlib
import sys

from cronium.cli.common import app, err
from cronium.errors import CroniumError

__all__ = ["app", "main"]

# The command groups register their commands, in the order --help lists them.
for _group in (
    "server",
    "users",
    "access",
    "run",
    "events",
    "event_extras",
    "workflows",
    "executions",
    "logs",
    "retention",
    "variables",
    "secrets",
    "tools",
):
    importlib.import_module(f"cronium.cli.{_group}")


def main() -> None:
    """Entry point of the ``cronium`` console script."""
    try:
        app()
    except CroniumError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        sys.exit(2)
