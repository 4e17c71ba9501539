from cronium.sandbox.output import MAX_LINE_BYTES, LineCollector
from cronium.sandbox.spec import OutputLine


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
