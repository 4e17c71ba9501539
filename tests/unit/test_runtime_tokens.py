"""Execution tokens of the runtime API (runtime/tokens.py)."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from cronium.errors import AuthenticationError
from cronium.runtime.tokens import TokenIssuer


def issue(issuer: TokenIssuer, lifetime: timedelta = timedelta(minutes=5)) -> str:
    now = datetime.now(UTC)
    return issuer.issue(execution_id=7, event_id=3, owner_id=2, now=now, lifetime=lifetime)


def test_a_token_carries_its_execution_event_owner_and_scope() -> None:
    issuer = TokenIssuer()
    claims = issuer.verify(issue(issuer))
    assert (claims.execution_id, claims.event_id, claims.owner_id, claims.scope) == (
        7,
        3,
        2,
        "runtime",
    )


def test_an_expired_token_is_refused() -> None:
    issuer = TokenIssuer()
    with pytest.raises(AuthenticationError, match="has expired"):
        issuer.verify(issue(issuer, timedelta(seconds=-10)))


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="not valid"):
        TokenIssuer().verify(issue(TokenIssuer()))


def test_a_token_of_another_scope_is_refused() -> None:
    key = b"k" * 32
    claims = {"sub": "7", "evt": 3, "own": 2, "scope": "admin", "aud": "cronium-runtime"}
    expiry = datetime.now(UTC) + timedelta(minutes=1)
    forged = jwt.encode({**claims, "exp": expiry}, key, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="not an execution token"):
        TokenIssuer(key).verify(forged)


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode({"sub": "7", "aud": "cronium-runtime"}, key=None, algorithm="none")
    with pytest.raises(AuthenticationError):
        TokenIssuer().verify(unsigned)
