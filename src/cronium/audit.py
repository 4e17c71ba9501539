"""The audit log's use cases (``service.audit``): reading it (administrators), pruning it,
and the entries of a token's use of its admin scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cronium.domain.audit import AuditAction, AuditEntry
from cronium.domain.user import User
from cronium.errors import InvalidInputError, NotFoundError
from cronium.policy import AdminUse, Policy
from cronium.storage import Store

LOGIN_FAILURES_KEPT = timedelta(days=1)


def admin_use_recorder(store: Store, clock: Callable[[], datetime]) -> AdminUse:
    """What the policy calls when a token uses its admin scope."""

    async def record(user: User, doing: str) -> None:
        await store.audit.record(
            AuditAction.ADMIN_SCOPE_USE,
            at=clock(),
            actor_id=user.id,
            actor=user.name,
            target=doing,
            detail={"token_id": user.token_id},
        )

    return record


class AuditLog:
    def __init__(
        self, store: Store, clock: Callable[[], datetime], policy: Policy, session_idle: timedelta
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy
        self.session_idle = session_idle

    async def entries(
        self,
        user: User,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries newest first, for administrators; filtered by the acting user's name, the
        action, and time."""
        await self.policy.require_admin(user, "read the audit log")
        actor_id = None
        if actor is not None:
            try:
                actor_id = (await self.store.users.by_name(actor)).id
            except NotFoundError:
                raise NotFoundError(f"no user is named {actor!r}") from None
        if action is not None and action not in set(AuditAction):
            known = ", ".join(a.value for a in AuditAction)
            raise InvalidInputError(f"action: {action!r} is not recorded: use one of {known}")
        return await self.store.audit.find(
            actor_id=actor_id,
            action=action,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )

    async def prune(self, retention: timedelta) -> int:
        """Delete one bounded batch of audit entries older than ``retention``, and lapsed
        sessions and old login failures; how many audit entries went."""
        now = self.clock()
        pruned = await self.store.audit.prune(now - retention)
        await self.store.sessions.prune(now, self.session_idle)
        await self.store.login_failures.prune(now - LOGIN_FAILURES_KEPT)
        return pruned
