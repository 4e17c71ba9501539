"""Users, their roles, and their API tokens with scopes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What a user may do at most. Admins manage users and see everything; users own events;
    viewers only read what is shared with them."""

    ADMIN = "admin"
    USER = "user"
    VIEWER = "viewer"


class Scope(StrEnum):
    """What one credential may do: read, run (and cancel), write (create, change, delete),
    admin (manage users, read the audit log)."""

    READ = "read"
    RUN = "run"
    WRITE = "write"
    ADMIN = "admin"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.USER: frozenset({Scope.READ, Scope.RUN, Scope.WRITE}),
    Role.VIEWER: frozenset({Scope.READ}),
}


def parse_role(text: str) -> Role:
    """The role named ``text``; ValueError listing the roles otherwise."""
    try:
        return Role(text)
    except ValueError:
        raise ValueError(
            f"unknown role {text!r}: a role is one of {', '.join(r.value for r in Role)}"
        ) from None


@dataclass(frozen=True, slots=True)
class User:
    """Someone who owns events and calls the API. As a caller, ``scopes`` are what the
    credential in use allows (a token's scopes within the role); None: all of the role's."""

    id: int
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None
    has_password: bool = False
    scopes: frozenset[Scope] | None = None
    token_id: int | None = None  # the API token the caller authenticated with

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def allowed(self) -> frozenset[Scope]:
        """The scopes this caller has now: the credential's, never more than the role's."""
        role_scopes = ROLE_SCOPES[self.role]
        return role_scopes if self.scopes is None else role_scopes & self.scopes

    def may(self, scope: Scope) -> bool:
        return scope in self.allowed


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's record; the secret itself is never stored, only its hash."""

    id: int
    user_id: int
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def is_usable(self, now: datetime) -> bool:
        """True if neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """A browser's login, without its secret: it lapses after a time without use
    (``last_seen_at``) and at ``expires_at`` whatever the use."""

    id: int
    csrf_hash: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
