"""Values as a person reads them (cli/shown.py)."""

from datetime import UTC, timedelta, timezone

import pytest

from cronium.cli.shown import duration, moment, shown, size


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4857671359998, "486 ms"), (2.0, "2 s"), (2.345, "2.35 s"), (75, "1 min 15 s"),
     (3600, "1 h"), (5400, "1 h 30 min")],
)  # fmt: skip
def test_durations_are_rounded_with_their_unit(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_sizes_have_binary_units() -> None:
    assert size(512) == "512 B"
    assert size(12_345_678) == "11.8 MiB"


def test_times_are_shown_in_the_zone_given_with_its_name() -> None:
    paris = timezone(timedelta(hours=1), "CET")
    assert moment("2026-12-03T09:31:00.123456+00:00", paris) == "2026-12-03 10:31:00 CET"
    assert moment("2026-12-03T09:31:00Z", UTC) == "2026-12-03 09:31:00 UTC"


def test_values_are_json_not_python_reprs() -> None:
    assert (
        shown("input", {"n": 1, "ok": True, "none": None}) == '{"n": 1, "ok": true, "none": null}'
    )
    assert shown("timed_out", True) == "true"
    assert shown("exit_code", None) == ""
    assert shown("run_seconds", 0.4857) == "486 ms"
    assert shown("peak_memory_bytes", 2 * 1024 * 1024) == "2.0 MiB"
    long = shown("output", {"k": "v" * 80}, pretty=True)
    assert long.startswith("{\n")
