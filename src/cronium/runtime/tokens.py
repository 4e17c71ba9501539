"""Execution tokens: signed JWTs that let one running execution call the runtime API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from cronium.errors import AuthenticationError

ALGORITHM = "HS256"
SCOPE = "runtime"
AUDIENCE = "cronium-runtime"


@dataclass(frozen=True, slots=True)
class ExecutionClaims:
    """What a token says about its bearer."""

    execution_id: int
    event_id: int
    owner_id: int
    scope: str


class TokenIssuer:
    """Signs and checks execution tokens with one key (random per process unless given)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(
        self, *, execution_id: int, event_id: int, owner_id: int, now: datetime, lifetime: timedelta
    ) -> str:
        claims = {
            "sub": str(execution_id),
            "evt": event_id,
            "own": owner_id,
            "scope": SCOPE,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> ExecutionClaims:
        """The token's claims; AuthenticationError if it is expired, tampered with or foreign."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("the execution token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"the execution token is not valid: {exc}") from exc
        if claims.get("scope") != SCOPE:
            raise AuthenticationError("the token is not an execution token")
        return ExecutionClaims(
            execution_id=int(claims["sub"]),
            event_id=int(claims["evt"]),
            owner_id=int(claims["own"]),
            scope=str(claims["scope"]),
        )
