"""Sharing an event or a workflow with other users (``service.sharing``), by its owner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cronium.accounts import Accounts
from cronium.domain.audit import AuditAction
from cronium.domain.share import Share, ShareRole
from cronium.domain.user import ROLE_SCOPES, Scope, User
from cronium.errors import InvalidInputError, NotFoundError
from cronium.policy import Policy
from cronium.storage import Store


class Sharing:
    def __init__(
        self, store: Store, clock: Callable[[], datetime], policy: Policy, accounts: Accounts
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy
        self.accounts = accounts

    async def shares(self, user: User, event_id: int) -> list[Share]:
        await self.policy.event(user, event_id, Scope.WRITE)
        return await self.store.shares.of_event(event_id)

    async def share(
        self, user: User, event_id: int, with_user: str, role: ShareRole
    ) -> list[Share]:
        """Share the event (or workflow) with the user named ``with_user`` as ``role``
        (replacing an earlier share); the event's shares after."""
        event = await self.policy.event(user, event_id, Scope.WRITE)
        try:
            other = await self.store.users.by_name(with_user)
        except NotFoundError:
            raise InvalidInputError(
                f"user: no user is named {with_user!r} (share with an existing user)"
            ) from None
        if other.id == event.owner_id:
            raise InvalidInputError(f"user: {with_user!r} owns event {event_id} already")
        if role is ShareRole.OPERATOR and not ROLE_SCOPES[other.role] >= {Scope.RUN}:
            raise InvalidInputError(
                f"role: {with_user!r} is a {other.role.value}, who only reads: share as viewer"
            )
        await self.store.shares.put(event_id, other.id, role, self.clock())
        await self._audit(AuditAction.SHARE_ADD, user, event_id, with_user, role.value)
        return await self.store.shares.of_event(event_id)

    async def unshare(self, user: User, event_id: int, with_user: str) -> None:
        await self.policy.event(user, event_id, Scope.WRITE)
        other = await self.accounts.named(with_user)
        if not await self.store.shares.remove(event_id, other.id):
            raise NotFoundError(f"event {event_id} is not shared with {with_user!r}")
        await self._audit(AuditAction.SHARE_REMOVE, user, event_id, with_user, None)

    async def _audit(
        self, action: AuditAction, user: User, event_id: int, with_user: str, role: str | None
    ) -> None:
        await self.store.audit.record(
            action,
            at=self.clock(),
            actor_id=user.id,
            actor=user.name,
            target=f"event {event_id}",
            detail={"user": with_user, "role": role},
        )
