"""HTTP-request events: checking a request, and which addresses count as private."""

import ipaddress

import pytest

from cronium.actions.http import _kind
from cronium.domain.http import HttpRequest
from cronium.errors import InvalidInputError


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "private"),
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_which_addresses_are_not_public(address: str, kind: str | None) -> None:
    assert _kind(ipaddress.ip_address(address)) == kind


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
