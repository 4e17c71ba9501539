"""Storage: tables, migrations and the one gateway (:class:`Store`) the rest of Cronium calls."""

from cronium.storage.queue import LogLine, Requeued, RunRecord
from cronium.storage.store import EventChanges, EventFields, EventVersion, Store

__all__ = [
    "EventChanges",
    "EventFields",
    "EventVersion",
    "LogLine",
    "Requeued",
    "RunRecord",
    "Store",
]
