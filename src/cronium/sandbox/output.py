"""Turning a stream's bytes into capped lines, the same way for every backend.

A run's output is bounded where it is read: at most ``cap_bytes`` per stream and
``max_lines`` for both streams together. Past a cap the rest is still read (so the script
never blocks on a full pipe) but only counted, at the cost of one ``bytes.count`` per chunk,
and one marker line, the stream's last, says how many lines and bytes of it were dropped
(an unterminated last line counts as a line). So what a run stores is at most ``cap_bytes``
of each stream (its lines' bytes as read, newlines included) plus a marker of about a hundred
bytes each; docs/retention.md has the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cronium.metrics import LOG_LINES_DROPPED
from cronium.sandbox.spec import OutputLine, OutputSink, SandboxSpec, Stream

MAX_LINE_BYTES = 64 * 1024


@dataclass(slots=True)
class LineBudget:
    """The lines both streams of one run may still pass on."""

    left: int


class LineCollector:
    """Splits one stream into lines and stops passing them on past its caps.

    Lines longer than ``MAX_LINE_BYTES`` are split so that memory stays bounded; each piece
    but the last says that the line goes on (``continued``).
    """

    def __init__(
        self, stream: Stream, sink: OutputSink, cap_bytes: int, budget: LineBudget | None = None
    ) -> None:
        self.stream = stream
        self.sink = sink
        self.cap_bytes = cap_bytes
        self.budget = budget if budget is not None else LineBudget(left=1 << 62)
        self.kept_bytes = 0
        self.truncated = False
        self.cause = ""
        self.reason = ""  # the metric's label: bytes or lines
        self.dropped_bytes = 0
        self.dropped_lines = 0
        self._pending = b""
        self._open_tail = False  # what was dropped last ended inside a line

    def feed(self, data: bytes) -> None:
        """Take the next chunk read from the stream."""
        if self.truncated:
            self._drop(data)
            return
        parts = (self._pending + data).split(b"\n")
        self._pending = parts.pop()
        at = datetime.now(UTC)
        for index, part in enumerate(parts):
            if not self._emit_long(part, at):
                rest = parts[index + 1 :]
                self.dropped_lines += len(rest)
                self.dropped_bytes += sum(map(len, rest)) + len(rest)
                self._drop(self._pending)
                self._pending = b""
                return
        while len(self._pending) >= MAX_LINE_BYTES:
            piece, self._pending = self._pending[:MAX_LINE_BYTES], self._pending[MAX_LINE_BYTES:]
            if not self._emit(piece, len(piece), at, continued=True):
                self.dropped_lines -= 1  # the line is counted by its newline, or at the end
                self._open_tail = True
                self._drop(self._pending)
                self._pending = b""
                return

    def finish(self) -> None:
        """The stream has closed: pass on what is left of its last line, then the marker."""
        if self._pending and not self.truncated:
            self._emit(self._pending, len(self._pending), datetime.now(UTC))
        elif self._pending:
            self._drop(self._pending)
        self._pending = b""
        if self.truncated:
            if self._open_tail:
                self.dropped_lines += 1
                self._open_tail = False
            LOG_LINES_DROPPED.labels(reason=self.reason).inc(self.dropped_lines)
            self._send(
                f"[cronium: {self.stream} {self.cause}; {self.dropped_lines} more line(s),"
                f" {self.dropped_bytes} byte(s), were dropped]",
                datetime.now(UTC),
            )

    def _emit_long(self, line: bytes, at: datetime) -> bool:
        """One line read with its newline, split if it is longer than ``MAX_LINE_BYTES``."""
        while len(line) > MAX_LINE_BYTES:
            if not self._emit(line[:MAX_LINE_BYTES], MAX_LINE_BYTES, at, continued=True):
                self.dropped_bytes += len(line) - MAX_LINE_BYTES + 1
                return False
            line = line[MAX_LINE_BYTES:]
        return self._emit(line, len(line) + 1, at)

    def _emit(self, line: bytes, size: int, at: datetime, *, continued: bool = False) -> bool:
        if self.kept_bytes + size > self.cap_bytes:
            self._truncate(f"exceeded {self.cap_bytes} bytes", "bytes")
        elif self.budget.left <= 0:
            self._truncate("reached the cap on lines per run", "lines")
        if self.truncated:
            self.dropped_bytes += size
            self.dropped_lines += 1
            return False
        self.kept_bytes += size
        self.budget.left -= 1
        self._send(line.decode("utf-8", errors="replace"), at, continued)
        return True

    def _truncate(self, cause: str, reason: str) -> None:
        self.truncated = True
        self.cause = cause
        self.reason = reason

    def _drop(self, data: bytes) -> None:
        """Count what is past the caps; a chunk's lines are its newlines."""
        if data:
            self.dropped_bytes += len(data)
            self.dropped_lines += data.count(b"\n")
            self._open_tail = not data.endswith(b"\n")

    def _send(self, text: str, at: datetime, continued: bool = False) -> None:
        self.sink(OutputLine(stream=self.stream, at=at, text=text, continued=continued))


def collectors_of(spec: SandboxSpec, sink: OutputSink) -> tuple[LineCollector, LineCollector]:
    """The stdout and stderr collectors of one run, sharing its cap on lines."""
    budget = LineBudget(left=spec.output_max_lines)
    return (
        LineCollector("stdout", sink, spec.output_cap_bytes, budget),
        LineCollector("stderr", sink, spec.output_cap_bytes, budget),
    )
