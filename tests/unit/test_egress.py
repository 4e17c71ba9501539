"""The egress policy: which networks and addresses runs may reach, and the reasons it gives."""

import ipaddress

import pytest

from cronium.actions.http import _kind
from cronium.domain.egress import EgressPolicy


@pytest.mark.parametrize(
    ("allow_egress", "network", "refused"),
    [
        (False, "egress", True),
        (True, "egress", False),
        (False, "none", False),
        (False, None, False),
    ],
)
def test_egress_is_refused_unless_allowed(
    allow_egress: bool, network: str | None, refused: bool
) -> None:
    refusal = EgressPolicy(allow_egress=allow_egress).network_refusal(network)
    assert (refusal is not None) is refused
    if refused:
        assert refusal == (
            "network: egress is not allowed on this server; an administrator can allow it with "
            "CRONIUM_ALLOW_EGRESS=true"
        )


def test_a_private_address_is_refused_unless_allowed() -> None:
    address = ipaddress.ip_address("10.0.0.5")
    assert EgressPolicy().address_refusal("db.internal", address, "private") == (
        "db.internal resolves to 10.0.0.5, a private address: HTTP requests and messages may not"
        " reach it unless an administrator sets CRONIUM_HTTP_ALLOW_PRIVATE=true"
    )
    assert (
        EgressPolicy(allow_private=True).address_refusal("db.internal", address, "private") is None
    )


def test_a_public_address_is_always_allowed() -> None:
    address = ipaddress.ip_address("8.8.8.8")
    assert EgressPolicy().address_refusal("dns.google", address, None) is None


def test_allowing_egress_does_not_allow_private_addresses() -> None:
    policy = EgressPolicy(allow_egress=True)
    address = ipaddress.ip_address("127.0.0.1")
    assert policy.address_refusal("localhost", address, "loopback") is not None


def test_an_address_given_as_such_is_named_once() -> None:
    refusal = EgressPolicy().address_refusal(
        "127.0.0.1", ipaddress.ip_address("127.0.0.1"), "loopback"
    )
    assert refusal is not None
    assert refusal.startswith("127.0.0.1 is a loopback address: HTTP requests and messages may not")
    assert refusal.count("127.0.0.1") == 1


@pytest.mark.parametrize(
    "address",
    ["100.100.100.200", "100.64.0.1", "2002:a9fe:a9fe::", "fec0::1", "::ffff:10.0.0.1"],
)
def test_shared_site_local_and_embedded_private_addresses_are_not_public(address: str) -> None:
    assert _kind(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888"])
def test_public_addresses_are_public(address: str) -> None:
    assert _kind(ipaddress.ip_address(address)) is None
