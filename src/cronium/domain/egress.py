"""The egress policy: where an administrator lets runs reach the network.

One object decides it everywhere it matters: when an event is saved (its ``network``), before a
script's sandbox is made (a worker may allow less than the server that took the event), and
before an HTTP-request event's request connects to an address. Each answer is None (allowed) or
the reason, which callers raise as the error of their own layer.
"""

from __future__ import annotations

from dataclasses import dataclass

EGRESS_REFUSED = (
    "network: egress is not allowed on this server; an administrator can allow it with "
    "CRONIUM_ALLOW_EGRESS=true"
)
PRIVATE_REFUSED = (
    "{where} a {kind} address: HTTP requests and messages may not reach it unless an administrator "
    "sets CRONIUM_HTTP_ALLOW_PRIVATE=true"
)


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """``allow_egress``: scripts may ask for outbound access (``CRONIUM_ALLOW_EGRESS``);
    ``allow_private``: HTTP requests may reach loopback, private, link-local and other reserved
    addresses (``CRONIUM_HTTP_ALLOW_PRIVATE``)."""

    allow_egress: bool = False
    allow_private: bool = False

    def network_refusal(self, network: str | None) -> str | None:
        """Why an event may not have ``network``; None if it may."""
        if network == "egress" and not self.allow_egress:
            return EGRESS_REFUSED
        return None

    def address_refusal(self, host: str, address: object, kind: str | None) -> str | None:
        """Why a request to ``host`` may not connect to ``address``, of ``kind`` (loopback,
        private... or None for a public address); None if it may."""
        if kind is None or self.allow_private:
            return None
        named = str(address) != host.strip("[]")  # a name, not the address itself
        where = f"{host} resolves to {address}," if named else f"{host} is"
        return PRIVATE_REFUSED.format(where=where, kind=kind)
