"""Finding the real backends tests need, and failing loudly in CI when one is missing."""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("CRONIUM_TEST_STRICT") == "1"


def missing(reason: str) -> None:
    """A backend this test needs is not here: fail under CRONIUM_TEST_STRICT=1, else skip."""
    if STRICT:
        pytest.fail(f"{reason} (CRONIUM_TEST_STRICT=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)
