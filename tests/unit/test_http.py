"""The request of an HTTP-request event (domain/http.py): its checks and its JSON form."""

import pytest

from cronium.domain.http import HttpRequest
from cronium.errors import InvalidInputError


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (HttpRequest("TRACE", "http://h/"), "'TRACE' is not supported"),
        (HttpRequest("GET", "file:///etc/passwd"), "not an http:// or https:// URL"),
        (HttpRequest("GET", "http:///path"), "not an http:// or https:// URL"),
        (HttpRequest("GET", "http://h/", {"Bad Name": "x"}), "not a valid header name"),
        (HttpRequest("GET", "http://h/", {"X": "a\r\nEvil: 1"}), "line break"),
        (HttpRequest("GET", "http://h/", body="x"), "a GET request has no body"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(request_: HttpRequest, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        request_.check()


def test_a_request_survives_its_json_form() -> None:
    request = HttpRequest("POST", "https://h/x", {"A": "b"}, {"k": [1]}, fail_on_status=False)
    assert HttpRequest.from_json(request.to_json()) == request
