from datetime import UTC, datetime, timedelta

import pytest

from cronium.api.errors import describe_validation_errors
from cronium.domain.event import Language
from cronium.domain.execution import ExecutionStatus
from cronium.domain.user import ApiToken
from cronium.sandbox.spec import SandboxResult
from cronium.tokens import hash_token, new_token_secret
from cronium.worker import record_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("filename", "language"),
    [("a.sh", Language.BASH), ("a.py", Language.PYTHON), ("x.JS", Language.NODE), ("a", None)],
)
def test_it_tells_the_language_from_the_extension(filename: str, language: Language) -> None:
    assert Language.from_filename(filename) is language


def test_token_secrets_are_random_and_stored_hashed() -> None:
    first, second = new_token_secret(), new_token_secret()
    assert first != second
    assert first.startswith("crn_")
    assert len(hash_token(first)) == 64
    assert hash_token(first) == hash_token(first)


def test_a_token_is_unusable_once_expired_or_revoked() -> None:
    token = ApiToken(1, 1, "t", "crn_x", NOW, NOW + timedelta(days=1), None, None)
    assert token.is_usable(NOW)
    assert not token.is_usable(NOW + timedelta(days=2))
    revoked = ApiToken(1, 1, "t", "crn_x", NOW, None, NOW, None)
    assert not revoked.is_usable(NOW)


def test_validation_errors_read_as_sentences() -> None:
    message = describe_validation_errors(
        [
            {"type": "json_invalid", "loc": ("body", 1), "msg": "x", "ctx": {"error": "bad"}},
            {"type": "less_than_equal", "loc": ("body", "cpus"), "msg": "Input should be <= 2"},
            {"type": "extra_forbidden", "loc": ("body", "colour"), "msg": "Extra inputs"},
        ]
    )
    assert message == (
        "the request body is not valid JSON: bad; cpus: Input should be <= 2; "
        "colour: is not a known field"
    )


def test_a_run_killed_by_a_signal_fails_and_says_which() -> None:
    record = record_of(SandboxResult(exit_code=None, signal=9), NOW, timeout=5)
    assert record.status is ExecutionStatus.FAILED
    assert record.error == "killed by signal 9"


def test_a_timed_out_run_says_after_how_long() -> None:
    record = record_of(SandboxResult(exit_code=None, timed_out=True), NOW, timeout=2.5)
    assert record.status is ExecutionStatus.TIMED_OUT
    assert record.error == "timed out after 2.5 s"
