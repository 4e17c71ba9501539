"""Output lines (sandbox/output.py): split, capped and counted alike for every backend."""

from cronium.sandbox.output import MAX_LINE_BYTES, LineCollector, collectors_of
from cronium.sandbox.spec import OutputLine
from tests.factories import sandbox_spec


def collect(cap: int, *chunks: bytes) -> tuple[list[str], LineCollector]:
    lines: list[OutputLine] = []
    collector = LineCollector("stdout", lines.append, cap)
    for chunk in chunks:
        collector.feed(chunk)
    collector.finish()
    return [line.text for line in lines], collector


def test_it_joins_lines_split_across_chunks() -> None:
    texts, _ = collect(1000, b"hel", b"lo\nwor", b"ld\n")
    assert texts == ["hello", "world"]


def test_it_keeps_a_last_line_without_newline() -> None:
    texts, _ = collect(1000, b"a\nb")
    assert texts == ["a", "b"]


def test_it_stops_at_the_cap_with_one_marker() -> None:
    texts, collector = collect(11, b"12345\n", b"6789\n", b"abcdef\n", b"more\n")
    assert texts[:2] == ["12345", "6789"]
    assert len(texts) == 3
    assert "exceeded 11 bytes" in texts[2]
    assert collector.truncated


def test_it_splits_an_endless_line_to_bound_memory() -> None:
    texts, _ = collect(10 * MAX_LINE_BYTES, b"x" * (MAX_LINE_BYTES * 2 + 5))
    assert [len(t) for t in texts] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 5]


def test_it_replaces_bytes_that_are_not_utf8() -> None:
    texts, _ = collect(100, b"caf\xe9\n")
    assert texts == ["caf\ufffd"]


def test_it_caps_the_lines_of_both_streams_together_and_counts_the_rest() -> None:
    lines: list[OutputLine] = []
    spec = sandbox_spec("", output_max_lines=3)
    stdout, stderr = collectors_of(spec, lines.append)
    stdout.feed(b"a\nb\n")
    stderr.feed(b"c\nd\ne\n")
    stdout.feed(b"f\n" * 1000)
    stdout.finish()
    stderr.finish()
    texts = [(line.stream, line.text) for line in lines]
    assert texts[:3] == [("stdout", "a"), ("stdout", "b"), ("stderr", "c")]
    assert len(texts) == 5  # the three lines and one marker a stream
    assert stdout.truncated
    assert stderr.truncated
    assert "1000 more line(s)" in texts[3][1] or "1000 more line(s)" in texts[4][1]
    assert stderr.dropped_lines == 2
    assert stdout.dropped_lines == 1000
    assert stdout.dropped_bytes == 2000


def test_a_flood_of_short_lines_is_split_in_bounded_time() -> None:
    """Six million lines: the per-line work stops at the cap, the rest is only counted."""
    lines: list[OutputLine] = []
    spec = sandbox_spec("")
    stdout, _ = collectors_of(spec, lines.append)
    chunk = b"y\n" * 32768
    for _ in range(12_000_000 // len(chunk)):
        stdout.feed(chunk)
    stdout.finish()
    assert len(lines) == spec.output_max_lines + 1
    assert stdout.kept_bytes == 2 * spec.output_max_lines
    assert stdout.dropped_lines + spec.output_max_lines == 12_000_000 // len(chunk) * 32768
    assert "reached the cap on lines per run" in lines[-1].text
