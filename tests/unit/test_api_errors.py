"""The REST API's error translation (api/errors.py)."""

from cronium.api.errors import describe_validation_errors


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
