"""Storage: tables, migrations, and the repositories the rest of Cronium calls through one
facade (:class:`Store`)."""

from cronium.storage.events import EventChanges, EventFields, EventVersion
from cronium.storage.logs import LogLine
from cronium.storage.queue import Requeued, RunRecord
from cronium.storage.store import Store

__all__ = [
    "EventChanges",
    "EventFields",
    "EventVersion",
    "LogLine",
    "Requeued",
    "RunRecord",
    "Store",
]
