"""Turning a stream's bytes into capped lines, the same way for every backend."""

from __future__ import annotations

from datetime import UTC, datetime

from cronium.sandbox.spec import OutputLine, OutputSink, Stream

MAX_LINE_BYTES = 64 * 1024


class LineCollector:
    """Splits one stream into lines and stops passing them on past ``cap_bytes``.

    Lines longer than ``MAX_LINE_BYTES`` are split so that memory stays bounded. Once the cap
    is reached one marker line says so, and the rest is read and dropped.
    """

    def __init__(self, stream: Stream, sink: OutputSink, cap_bytes: int) -> None:
        self.stream = stream
        self.sink = sink
        self.cap_bytes = cap_bytes
        self.kept_bytes = 0
        self.truncated = False
        self._pending = bytearray()

    def feed(self, data: bytes) -> None:
        """Take the next chunk read from the stream."""
        if self.truncated:
            return
        self._pending += data
        while True:
            newline = self._pending.find(b"\n")
            if newline < 0 and len(self._pending) < MAX_LINE_BYTES:
                return
            end = newline if 0 <= newline < MAX_LINE_BYTES else MAX_LINE_BYTES
            line = bytes(self._pending[:end])
            del self._pending[: end + 1 if end == newline else end]
            if not self._emit(line, len(line) + 1):
                return

    def finish(self) -> None:
        """The stream has closed: pass on what is left of its last line."""
        if self._pending and not self.truncated:
            self._emit(bytes(self._pending), len(self._pending))
        self._pending.clear()

    def _emit(self, line: bytes, size: int) -> bool:
        if self.kept_bytes + size > self.cap_bytes:
            self.truncated = True
            self._pending.clear()
            self._send(
                f"[cronium: {self.stream} exceeded {self.cap_bytes} bytes; the rest was dropped]"
            )
            return False
        self.kept_bytes += size
        self._send(line.decode("utf-8", errors="replace"))
        return True

    def _send(self, text: str) -> None:
        self.sink(OutputLine(stream=self.stream, at=datetime.now(UTC), text=text))
