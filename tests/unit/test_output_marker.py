"""The one marker a capped stream ends with: it counts every dropped line once, the last one
without a newline included."""

from __future__ import annotations

from cronium.sandbox.output import MAX_LINE_BYTES, LineCollector
from cronium.sandbox.spec import OutputLine


def collect(cap: int, *chunks: bytes) -> tuple[list[str], LineCollector]:
    lines: list[OutputLine] = []
    collector = LineCollector("stdout", lines.append, cap)
    for chunk in chunks:
        collector.feed(chunk)
    collector.finish()
    return [line.text for line in lines], collector


def test_an_unterminated_last_line_past_the_cap_counts_as_a_line() -> None:
    texts, collector = collect(6, b"12345\n", b"abc\nde", b"f")
    assert texts[0] == "12345"
    assert (collector.dropped_lines, collector.dropped_bytes) == (2, 7)
    assert texts[1:] == [
        "[cronium: stdout exceeded 6 bytes; 2 more line(s), 7 byte(s), were dropped]"
    ]


def test_a_terminated_last_line_is_not_counted_twice() -> None:
    _, collector = collect(6, b"12345\n", b"abc\n", b"de\n")
    assert (collector.dropped_lines, collector.dropped_bytes) == (2, 7)


def test_an_endless_line_cut_by_the_cap_counts_once() -> None:
    big = b"x" * (MAX_LINE_BYTES * 3)
    texts, collector = collect(MAX_LINE_BYTES + 10, big, b"x" * 5, b"\nlast\n")
    assert len(texts) == 2  # one piece kept, then the marker
    assert collector.dropped_lines == 2
    assert collector.dropped_bytes == len(big) + 5 + 1 + 5 - MAX_LINE_BYTES


def test_nothing_dropped_means_no_marker() -> None:
    texts, collector = collect(100, b"a\nb")
    assert texts == ["a", "b"]
    assert not collector.truncated
