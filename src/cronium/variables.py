"""Use cases of a user's variables (``service.variables``): JSON values kept by key, with a
description, an expiry, a JSON Schema and a secret flag.

Listing and reading need the ``read`` scope, writing, deleting and revealing a secret the
``write`` scope. Writes to secrets, their deletion and every reveal are audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cronium.domain.audit import AuditAction
from cronium.domain.user import Scope, User
from cronium.domain.variable import Variable, VariableChange, check_key
from cronium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from cronium.storage import Store
from cronium.storage.variables import Writer, context_of


class VariableService:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def list(self, user: User) -> list[Variable]:
        """The caller's unexpired variables; secrets without their values."""
        _require(user, Scope.READ, "list variables")
        return await self.store.variables.list(user.id, self.clock())

    async def get(self, user: User, key: str) -> Variable:
        """One of the caller's variables (a secret without its value)."""
        _require(user, Scope.READ, "read variables")
        found = await self.store.variables.find(user.id, check_key(key), self.clock())
        if found is None:
            raise NotFoundError(f"you have no variable {key!r}")
        return found

    async def set(self, user: User, key: str, change: VariableChange) -> Variable:
        """Create or replace a variable: checked against its schema, a secret encrypted."""
        _require(user, Scope.WRITE, "change variables")
        return await self.store.variables.write(
            user.id, check_key(key), change, self.clock(), writer=_writer(user)
        )

    async def delete(self, user: User, key: str) -> None:
        _require(user, Scope.WRITE, "delete variables")
        if not await self.store.variables.delete(
            user.id, check_key(key), self.clock(), writer=_writer(user)
        ):
            raise NotFoundError(f"you have no variable {key!r}")

    async def reveal(self, user: User, key: str) -> Variable:
        """One of the caller's secrets with its value (audited)."""
        _require(user, Scope.WRITE, "reveal secrets")
        now = self.clock()
        found = await self.store.variables.find(user.id, check_key(key), now, reveal=True)
        if found is None:
            raise NotFoundError(f"you have no variable {key!r}")
        if not found.secret:
            raise InvalidInputError(f"variable {key!r} is not a secret: read it with a get")
        await self.store.audit.record(
            AuditAction.SECRET_REVEAL,
            at=now,
            actor_id=user.id,
            actor=user.name,
            target=context_of(user.id, key),
        )
        return found

    async def prune_expired(self) -> int:
        """Delete one bounded batch of expired variables (a scheduler chore); how many went."""
        return await self.store.variables.prune_expired(self.clock())


def _require(user: User, scope: Scope, doing: str) -> None:
    if not user.may(scope):
        raise PermissionDeniedError(
            f"you cannot {doing}: that needs the {scope.value!r} scope, which this role or "
            "API token does not have"
        )


def _writer(user: User) -> Writer:
    return Writer(user_id=user.id, name=user.name)
