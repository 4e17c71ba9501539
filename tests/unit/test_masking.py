"""Masking a run's secrets (masking.py) and the cut pieces of over-long lines (output.py)."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

from cronium.masking import MASK, MIN_MASKED_LENGTH, LineMasking, Masker
from cronium.sandbox.output import MAX_LINE_BYTES, LineCollector
from cronium.sandbox.spec import OutputLine

AT = datetime(2026, 1, 1, tzinfo=UTC)


def line(text: str, *, stream: str = "stdout", continued: bool = False) -> OutputLine:
    return OutputLine(stream=stream, at=AT, text=text, continued=continued)  # type: ignore[arg-type]


def test_a_secret_is_masked_wherever_it_is_in_a_line() -> None:
    masker = Masker(["hunter22"])

    assert masker.text("hunter22") == MASK
    assert masker.text("the password is hunter22, really") == "the password is ***, really"
    assert masker.text("hunter22hunter22") == "******"
    assert masker.text("nothing here") == "nothing here"


def test_the_longest_secret_is_masked_first_so_one_containing_another_is_masked_whole() -> None:
    masker = Masker(["abcd", "xxabcdxx"])

    assert masker.text("[xxabcdxx] [abcd]") == "[***] [***]"


def test_values_shorter_than_the_minimum_are_not_masked() -> None:
    short = "x" * (MIN_MASKED_LENGTH - 1)
    masker = Masker([short])

    assert not masker
    assert masker.text(f"{short} stays") == f"{short} stays"


def test_each_line_of_a_multi_line_secret_is_masked_too() -> None:
    key = "-----BEGIN KEY-----\r\nc2VjcmV0IGtleSBib2R5\n-----END KEY-----"
    masker = Masker([key])

    assert masker.text("c2VjcmV0IGtleSBib2R5") == MASK
    assert masker.text("-----BEGIN KEY-----") == MASK
    assert masker.json({"k": key}) == {"k": MASK}


def test_regex_characters_in_a_secret_are_taken_literally() -> None:
    masker = Masker(["a.b*c(d)"])

    assert masker.text("a.b*c(d) aXbbc(d)") == "*** aXbbc(d)"


def test_an_output_is_masked_in_every_string_and_key_and_stays_json() -> None:
    masker = Masker(["s3cr3t!"])
    output = {
        "token": "s3cr3t!",
        "nested": [{"deep": "before s3cr3t! after"}, 5, None, True],
        "s3cr3t!": 1.5,
        "number": 7,
    }

    masked = masker.json(output)

    assert masked == {
        "token": MASK,
        "nested": [{"deep": f"before {MASK} after"}, 5, None, True],
        MASK: 1.5,
        "number": 7,
    }
    assert "s3cr3t!" not in json.dumps(masked)
    assert masker.json("s3cr3t!") == MASK
    assert masker.json(None) is None


def test_without_secrets_nothing_changes() -> None:
    masker = Masker()
    output = {"a": ["b"]}

    assert masker.json(output) is output
    assert masker.text("text") == "text"
    assert masker.optional(None) is None


def test_a_secret_straddling_the_cut_of_a_long_line_is_masked_in_the_first_piece() -> None:
    masking = LineMasking(Masker(["topsecret"]))

    assert masking.feed(line("aaa tops", continued=True)) == []
    ready = masking.feed(line("ecret bbb"))

    assert [piece.text for piece in ready] == [f"aaa {MASK}", " bbb"]
    assert [piece.continued for piece in ready] == [True, False]


def test_a_line_cut_in_three_pieces_is_masked_across_both_cuts() -> None:
    masking = LineMasking(Masker(["topsecret"]))

    assert masking.feed(line("x tops", continued=True)) == []
    first = masking.feed(line("ecret y topsec", continued=True))
    last = masking.feed(line("ret z"))

    assert [piece.text for piece in first + last] == [f"x {MASK}", f" y {MASK}", " z"]


def test_the_pieces_of_one_stream_wait_while_the_other_stream_goes_on() -> None:
    masking = LineMasking(Masker(["topsecret"]))

    assert masking.feed(line("out tops", continued=True)) == []
    assert masking.feed(line("err topsecret", stream="stderr")) == [
        line(f"err {MASK}", stream="stderr")
    ]
    assert [piece.text for piece in masking.feed(line("ecret"))] == [f"out {MASK}", ""]


def test_a_piece_whose_rest_never_came_is_masked_at_the_end() -> None:
    masking = LineMasking(Masker(["topsecret"]))

    masking.feed(line("topsecret and more", continued=True))

    assert [piece.text for piece in masking.finish()] == [f"{MASK} and more"]
    assert masking.finish() == []


def test_the_line_collector_says_which_pieces_of_a_long_line_go_on() -> None:
    lines: list[OutputLine] = []
    collector = LineCollector("stdout", lines.append, cap_bytes=1 << 30)

    collector.feed(b"a" * (MAX_LINE_BYTES + 10) + b"\nshort\n")
    collector.feed(b"b" * MAX_LINE_BYTES)
    collector.finish()

    assert [(len(piece.text), piece.continued) for piece in lines] == [
        (MAX_LINE_BYTES, True),
        (10, False),
        (5, False),
        (MAX_LINE_BYTES, True),
    ]


def test_a_secret_across_a_cut_made_by_the_collector_is_masked() -> None:
    secret = "Zq9-very-secret-value"
    masking = LineMasking(Masker([secret]))
    masked: list[OutputLine] = []
    collector = LineCollector("stdout", lambda piece: masked.extend(masking.feed(piece)), 1 << 30)
    before = "a" * (MAX_LINE_BYTES - 5)

    collector.feed(before.encode() + secret[:3].encode())
    collector.feed(secret[3:].encode() + b" tail\n")
    collector.finish()

    assert "".join(piece.text for piece in masked) == before + MASK + " tail"
    assert all(secret[:5] not in piece.text for piece in masked)


def test_the_trie_masks_as_trying_every_value_longest_first_would() -> None:
    rng = random.Random(7)
    values = ["".join(rng.choice("ab.c") for _ in range(rng.randint(4, 9))) for _ in range(60)]
    plain = re.compile("|".join(map(re.escape, sorted(set(values), key=lambda v: (-len(v), v)))))
    masker = Masker(values)

    for _ in range(300):
        text = "".join(rng.choice("ab.c x") for _ in range(rng.randint(0, 80)))
        assert masker.text(text) == plain.sub(MASK, text)


def test_values_too_many_to_nest_are_still_masked() -> None:
    values = ["a" * length for length in range(4, 1100)]
    masker = Masker(values)

    assert masker.text("b" + "a" * 1099 + "b") == f"b{MASK}b"
