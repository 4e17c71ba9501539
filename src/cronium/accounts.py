"""Accounts (``service.accounts``): users and their roles, passwords, browser sessions, API
tokens with scopes, and the back-off that makes guessing passwords slow.

Every credential is checked against its user on each request, so disabling a user, changing
their role or revoking a token takes effect at once. Secrets (passwords, session cookies,
CSRF tokens, API tokens) are kept only as hashes.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from cronium import passwords
from cronium.domain.audit import AuditAction
from cronium.domain.user import ROLE_SCOPES, ApiToken, Role, Scope, User
from cronium.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from cronium.policy import Policy
from cronium.storage import Store
from cronium.tokens import display_prefix, hash_token, new_token_secret

# A token's or session's last use is written at most this often: not one write per request.
TOUCH_INTERVAL = timedelta(minutes=1)
SESSION_PREFIX = "crs_"
NAME_PATTERN_HELP = "1 to 100 letters, digits, '.', '_', '-' or '@'"
LOGIN_WINDOW = timedelta(minutes=15)  # failures further apart than this start the count again


@dataclass(frozen=True, slots=True)
class AccountRules:
    """How long sessions last and how soon logins back off (from the settings)."""

    session_idle: timedelta = timedelta(hours=12)
    session_max: timedelta = timedelta(days=7)
    login_attempts: int = 5


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: ``secret`` is shown this once and never again."""

    token: ApiToken
    secret: str


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    """The administrator of a new deployment: its token and password are shown this once."""

    user: User
    token: IssuedToken
    password: str


@dataclass(frozen=True, slots=True)
class Login:
    """A session just opened: the cookie's value and the CSRF token, shown this once."""

    user: User
    cookie: str
    csrf_token: str
    expires_at: datetime


class Accounts:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        policy: Policy,
        rules: AccountRules | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy
        self.rules = rules or AccountRules()

    async def _audit(
        self,
        action: AuditAction,
        actor: User | None,
        target: str | None = None,
        *,
        address: str | None = None,
        **detail: Any,
    ) -> None:
        """An entry from ``address`` if given, else from the client of the request served
        (which a login, made before anyone is known, does not set)."""
        await self.store.audit.record(
            action,
            at=self.clock(),
            actor_id=None if actor is None else actor.id,
            actor=None if actor is None else actor.name,
            target=target,
            detail=detail or None,
            address=address,
        )

    # credentials

    async def authenticate(self, secret: str) -> User:
        """The caller an API token stands for (its scopes within its user's role);
        AuthenticationError if it is not usable."""
        found = await self.store.tokens.find(hash_token(secret))
        if found is None:
            raise AuthenticationError("the API token is not valid")
        token, user = found
        now = self.clock()
        if token.revoked_at is not None:
            raise AuthenticationError(f"the API token {token.prefix}... has been revoked")
        if not token.is_usable(now):
            raise AuthenticationError(f"the API token {token.prefix}... has expired")
        _check_enabled(user)
        if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
            await self.store.tokens.touch(token.id, now)
        return replace(user, scopes=token.scopes, token_id=token.id)

    async def authenticate_session(self, cookie: str, csrf: str | None, *, writes: bool) -> User:
        """The user of a browser session; a request that ``writes`` must also carry the
        session's CSRF token (AuthenticationError or PermissionDeniedError otherwise)."""
        found = await self.store.sessions.find(hash_token(cookie))
        if found is None:
            raise AuthenticationError("the session has ended: log in again")
        session, user = found
        now = self.clock()
        if now >= session.expires_at or now - session.last_seen_at >= self.rules.session_idle:
            await self.store.sessions.end(hash_token(cookie))
            raise AuthenticationError("the session has expired: log in again")
        _check_enabled(user)
        if writes and not (csrf and hmac.compare_digest(hash_token(csrf), session.csrf_hash)):
            raise PermissionDeniedError(
                "this request changes something but lacks the session's CSRF token: send it "
                "in the X-CSRF-Token header (login answers it)"
            )
        if now - session.last_seen_at > TOUCH_INTERVAL:
            await self.store.sessions.touch(session.id, now)
        return user

    async def login(self, name: str, password: str, address: str | None) -> Login:
        """Open a session; AuthenticationError if the name or password is wrong (the same
        message for both), RateLimitedError while too many tries in a row failed."""
        now = self.clock()
        keys = [("user", name[:255])] + ([("address", address)] if address else [])
        blocked = await self.store.login_failures.blocked_until(keys, now)
        if blocked is not None:
            wait = max(1, int((blocked - now).total_seconds() + 0.999))
            raise RateLimitedError(
                f"too many failed logins in a row: try again in {wait} s", retry_after=wait
            )
        found = await self.store.users.credentials(name)
        user, password_hash = found if found is not None else (None, None)
        if user is None or not passwords.verify(password_hash, password):
            await self.store.login_failures.fail(
                keys, now, allowed=self.rules.login_attempts, window=LOGIN_WINDOW
            )
            await self.store.audit.record(
                AuditAction.LOGIN_FAILED,
                at=now,
                actor_id=None if user is None else user.id,
                actor=name[:100],
                address=address,
            )
            raise AuthenticationError("the user name or the password is wrong")
        _check_enabled(user)
        await self.store.login_failures.clear(keys[:1])
        if password_hash is not None and passwords.needs_rehash(password_hash):
            await self.store.users.change(name, password_hash=passwords.hash_password(password))
        cookie = SESSION_PREFIX + secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires_at = now + self.rules.session_max
        await self.store.sessions.create(
            user.id,
            token_hash=hash_token(cookie),
            csrf_hash=hash_token(csrf),
            address=address,
            now=now,
            expires_at=expires_at,
        )
        await self._audit(AuditAction.LOGIN, user, address=address)
        return Login(user=user, cookie=cookie, csrf_token=csrf, expires_at=expires_at)

    async def logout(self, cookie: str) -> None:
        user_id = await self.store.sessions.end(hash_token(cookie))
        if user_id is not None:
            user = await self.store.users.get(user_id)
            await self._audit(AuditAction.LOGOUT, user)

    # API tokens

    async def issue_token(
        self,
        user: User,
        *,
        name: str,
        expires_in: timedelta | None,
        scopes: frozenset[Scope] | None = None,
    ) -> IssuedToken:
        """A new token for the caller, with ``scopes`` (default: all the caller has now). A
        token never gets more than the credential that asks for it."""
        wanted = user.allowed if scopes is None else scopes
        beyond = wanted - user.allowed
        if beyond:
            raise InvalidInputError(
                f"scopes: {', '.join(sorted(beyond))} {'is' if len(beyond) == 1 else 'are'} "
                f"beyond what you may give (your role {user.role.value} and this credential "
                f"allow {', '.join(sorted(user.allowed)) or 'nothing'})"
            )
        if not wanted:
            raise InvalidInputError("scopes: give a token at least one scope (read, run...)")
        secret = new_token_secret()
        now = self.clock()
        token = await self.store.tokens.create(
            user.id,
            name=name,
            token_hash=hash_token(secret),
            prefix=display_prefix(secret),
            now=now,
            expires_at=None if expires_in is None else now + expires_in,
            scopes=wanted,
        )
        await self._audit(
            AuditAction.TOKEN_CREATE, user, f"token {token.id}", scopes=sorted(wanted)
        )
        return IssuedToken(token=token, secret=secret)

    async def issue_token_for(
        self, user_name: str, *, name: str, expires_in: timedelta | None
    ) -> IssuedToken:
        """A new token for the user named ``user_name`` (an operator's way back in for a user
        who revoked their last token)."""
        user = await self.store.users.by_name(user_name)
        return await self.issue_token(user, name=name, expires_in=expires_in)

    async def list_tokens(self, user: User) -> list[ApiToken]:
        return await self.store.tokens.all(user.id)

    async def revoke_token(self, user: User, token_id: int) -> ApiToken:
        token = await self.store.tokens.revoke(user.id, token_id, self.clock())
        await self._audit(AuditAction.TOKEN_REVOKE, user, f"token {token_id}")
        return token

    # users

    async def create_admin(
        self, name: str, password: str | None = None
    ) -> tuple[User, IssuedToken]:
        """A new administrator with a first API token (and a password, if given)."""
        password_hash = None if password is None else passwords.hash_password(password)
        user = await self.store.users.create(
            check_name(name), role=Role.ADMIN, now=self.clock(), password_hash=password_hash
        )
        await self._audit(AuditAction.USER_CREATE, None, name, role=Role.ADMIN.value)
        return user, await self.issue_token(user, name="initial", expires_in=None)

    async def bootstrap_admin(self, name: str = "admin") -> FirstAdmin | None:
        """On a fresh database, create the first administrator, with an API token and a random
        first password to log in to the web UI with; else do nothing."""
        if await self.store.users.count():
            return None
        password = secrets.token_urlsafe(15)
        user, token = await self.create_admin(name, password)
        return FirstAdmin(user, token, password)

    async def create_user(
        self, caller: User | None, name: str, role: Role, password: str | None
    ) -> User:
        """A new user (``caller`` None: an operator on the database itself)."""
        if caller is not None:
            await self.policy.require_admin(caller, "create users")
        check_name(name)
        password_hash = None
        if password is not None:
            passwords.check_strength(password, user_name=name)
            password_hash = passwords.hash_password(password)
        user = await self.store.users.create(
            name, role=role, now=self.clock(), password_hash=password_hash
        )
        await self._audit(AuditAction.USER_CREATE, caller, name, role=role.value)
        return user

    async def list_users(self, caller: User) -> list[User]:
        await self.policy.require_admin(caller, "list users")
        return await self.store.users.all()

    async def get_user(self, caller: User, name: str) -> User:
        if caller.name != name:
            await self.policy.require_admin(caller, "read other users")
        return await self.store.users.by_name(name)

    async def set_role(self, caller: User | None, name: str, role: Role) -> User:
        if caller is not None:
            await self.policy.require_admin(caller, "change roles")
        user = await self.store.users.change(name, role=role)
        await self._audit(AuditAction.USER_ROLE, caller, name, role=role.value)
        return user

    async def set_password(
        self, caller: User | None, name: str, password: str, current: str | None = None
    ) -> User:
        """Set a password: an admin for anyone, a user for themselves with their current
        password (if they have one)."""
        if caller is not None and caller.name == name and not caller.may(Scope.ADMIN):
            found = await self.store.users.credentials(name)
            has_one = found is not None and found[1] is not None
            if has_one and current is None:
                raise PermissionDeniedError(
                    "current_password: give your current password to set a new one"
                )
            if has_one and not passwords.verify(found[1], current):  # type: ignore[index,arg-type]
                raise PermissionDeniedError(
                    "current_password: this is not your current password (nothing was changed)"
                )
        elif caller is not None:
            await self.policy.require_admin(caller, "set other users' passwords")
        passwords.check_strength(password, user_name=name)
        user = await self.store.users.change(
            name, password_hash=passwords.hash_password(password), keep_an_admin=False
        )
        await self._audit(AuditAction.USER_PASSWORD, caller, name)
        return user

    async def disable(self, caller: User | None, name: str) -> User:
        """Disable a user: their sessions end and their tokens stop working at once."""
        if caller is not None:
            await self.policy.require_admin(caller, "disable users")
        user = await self.store.users.change(name, disabled_at=self.clock())
        await self._audit(AuditAction.USER_DISABLE, caller, name)
        return user

    async def enable(self, caller: User | None, name: str) -> User:
        if caller is not None:
            await self.policy.require_admin(caller, "enable users")
        user = await self.store.users.change(name, enable=True)
        await self._audit(AuditAction.USER_ENABLE, caller, name)
        return user

    async def delete(self, caller: User | None, name: str) -> User:
        """Delete a user with everything they own (events, executions, variables)."""
        if caller is not None:
            await self.policy.require_admin(caller, "delete users")
            if caller.name == name:
                raise ConflictError("you cannot delete yourself: ask another administrator")
        user = await self.store.users.delete(name)
        await self._audit(AuditAction.USER_DELETE, caller, name)
        return user

    async def named(self, name: str) -> User:
        """The user named ``name`` (NotFoundError saying so)."""
        try:
            return await self.store.users.by_name(name)
        except NotFoundError:
            raise NotFoundError(f"no user is named {name!r}") from None


def check_name(name: str) -> str:
    if not (0 < len(name) <= 100) or not all(c.isalnum() or c in "._-@" for c in name):
        raise InvalidInputError(f"user name {name[:100]!r} is not valid: use {NAME_PATTERN_HELP}")
    return name


def _check_enabled(user: User) -> None:
    if user.disabled_at is not None:
        raise AuthenticationError(f"user {user.name!r} is disabled: ask an administrator")


def role_scopes(role: Role) -> frozenset[Scope]:
    return ROLE_SCOPES[role]
