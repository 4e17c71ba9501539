"""`cronium logs`: reading Server-Sent Events, and how an end becomes an exit code."""

from __future__ import annotations

from cronium.cli.logs import EXIT_WITHOUT_CODE, say_end, sse_events


def test_events_are_read_with_their_names_ids_and_json_and_comments_are_skipped() -> None:
    stream = [
        ": keep-alive",
        "",
        "id: 3",
        "event: line",
        'data: {"seq": 3, "line": "x"}',
        "",
        "event: end",
        'data: {"status": "succeeded",',
        'data:  "exit_code": 0}',
        "",
    ]
    assert list(sse_events(iter(stream))) == [
        ("line", "3", {"seq": 3, "line": "x"}),
        ("end", None, {"status": "succeeded", "exit_code": 0}),
    ]


def test_an_end_without_an_exit_code_exits_1_and_says_how_it_ended() -> None:
    assert say_end(7, {"status": "succeeded", "exit_code": 0}) == 0
    assert say_end(7, {"status": "failed", "exit_code": 9}) == 9
    ended = {"status": "cancelled", "error": "cancelled before it started"}
    assert say_end(7, ended) == EXIT_WITHOUT_CODE == 1
