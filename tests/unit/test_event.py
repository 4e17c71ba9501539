"""Events (domain/event.py): the language a file name tells, the default limits."""

import pytest

from cronium.domain.event import Language, ResourceLimits


@pytest.mark.parametrize(
    ("filename", "language"),
    [("a.sh", Language.BASH), ("a.py", Language.PYTHON), ("x.JS", Language.NODE), ("a", None)],
)
def test_it_tells_the_language_from_the_extension(filename: str, language: Language) -> None:
    assert Language.from_filename(filename) is language


def test_limits_default_to_the_security_table() -> None:
    assert ResourceLimits() == ResourceLimits(
        timeout_seconds=300, cpus=0.5, memory_mb=512, pids=100
    )
