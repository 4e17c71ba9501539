"""HTTP-request events as the worker makes them (actions/http.py): which addresses count as
private."""

import ipaddress

import pytest

from cronium.actions.http import _kind


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
