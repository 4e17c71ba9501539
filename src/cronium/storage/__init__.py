"""Storage: tables, migrations and the one gateway (:class:`Store`) the rest of Cronium calls."""

from cronium.storage.store import EventChanges, EventFields, LogLine, RunRecord, Store

__all__ = ["EventChanges", "EventFields", "LogLine", "RunRecord", "Store"]
