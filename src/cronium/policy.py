"""Who may do what: the one place the service layer asks before it acts.

A caller reaches an event (or a workflow, its executions and its logs) as its owner, as an
administrator (with the ``admin`` scope), or through a share (``viewer`` reads, ``operator``
also runs and cancels). Each use case names what it needs (read, run or write); the policy
checks the caller's access to the object, then the credential's scopes (a token's scopes,
within the user's role). Someone with no access at all is told the object does not exist, so
that ids of other users' objects reveal nothing; someone who can see an object but not do
what they ask is told why (403).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import IntEnum

from cronium.domain.event import Event
from cronium.domain.share import ShareRole
from cronium.domain.user import ROLE_SCOPES, Role, Scope, User
from cronium.errors import NotFoundError, PermissionDeniedError
from cronium.storage import Store

ADMIN_READ_NOTE_EVERY = 60.0  # seconds between two audit entries of one token's admin reads


class Access(IntEnum):
    """How far a caller reaches one event, least first."""

    NONE = 0
    VIEW = 1
    OPERATE = 2
    OWN = 3


SHARED_ACCESS = {ShareRole.VIEWER: Access.VIEW, ShareRole.OPERATOR: Access.OPERATE}
NEEDED = {Scope.READ: Access.VIEW, Scope.RUN: Access.OPERATE, Scope.WRITE: Access.OWN}
VERBS = {Scope.READ: "read", Scope.RUN: "run", Scope.WRITE: "change"}

AdminUse = Callable[[User, str], Awaitable[None]]


class Policy:
    """The rules, over the store (for shares). ``on_admin_use`` records when a token uses its
    admin scope (see :meth:`admin_use`)."""

    def __init__(self, store: Store, on_admin_use: AdminUse | None = None) -> None:
        self.store = store
        self.on_admin_use = on_admin_use
        self._noted: dict[tuple[int, str], float] = {}

    def require(self, user: User, scope: Scope, doing: str) -> None:
        """PermissionDeniedError, saying why, unless the caller has ``scope``."""
        if user.may(scope):
            return
        if scope not in ROLE_SCOPES[user.role]:
            hint = (
                "viewers only read what is shared with them"
                if user.role is Role.VIEWER
                else "only administrators may"
            )
            raise PermissionDeniedError(
                f"you cannot {doing}: your role is {user.role.value} ({hint})"
            )
        have = ", ".join(sorted(s.value for s in user.allowed)) or "none"
        raise PermissionDeniedError(
            f"you cannot {doing}: this API token's scopes are {have}; use a token with the "
            f"{scope.value!r} scope"
        )

    async def require_admin(self, user: User, doing: str) -> None:
        """The caller is an administrator using the admin scope (recorded for tokens)."""
        self.require(user, Scope.ADMIN, doing)
        await self.admin_use(user, doing)

    async def access(self, user: User, event: Event) -> Access:
        if event.owner_id == user.id:
            return Access.OWN
        if user.is_admin and user.may(Scope.ADMIN):
            return Access.OWN
        role = await self.store.shares.role_of(event.id, user.id)
        return Access.NONE if role is None else SHARED_ACCESS[role]

    async def may(self, user: User, event: Event) -> tuple[Scope, ...]:
        """What the caller may do with ``event``: their access to it, within their scopes."""
        access = await self.access(user, event)
        return tuple(need for need, least in NEEDED.items() if access >= least and user.may(need))

    async def event(self, user: User, event_id: int, need: Scope, *, noun: str = "event") -> Event:
        """The event if the caller may ``need`` it; NotFoundError if they cannot see it at
        all, PermissionDeniedError if they can but not this."""
        try:
            event = await self.store.events.get(event_id)
        except NotFoundError:
            raise NotFoundError(f"no {noun} has id {event_id}") from None
        await self.check(user, event, need, noun=noun, ident=event_id)
        return event

    async def check(
        self, user: User, event: Event, need: Scope, *, noun: str = "event", ident: int = 0
    ) -> None:
        """As :meth:`event`, for an event already read: ``noun`` and ``ident`` name what was
        asked for (an execution of the event, say)."""
        name = f"{noun} {ident or event.id}"
        access = await self.access(user, event)
        if access is Access.NONE:
            raise NotFoundError(f"no {noun} has id {ident or event.id}")
        self.require(user, need, f"{VERBS[need]} {name}")
        if access < NEEDED[need]:
            allowed = "read it" if access is Access.VIEW else "read, run and cancel it"
            raise PermissionDeniedError(
                f"you cannot {VERBS[need]} {name}: it is shared with you to {allowed}; only "
                "its owner may do more"
            )
        if event.owner_id != user.id and not await self._shared(user, event):
            await self.admin_use(user, f"{VERBS[need]} {name}", quiet=need is Scope.READ)

    async def _shared(self, user: User, event: Event) -> bool:
        return await self.store.shares.role_of(event.id, user.id) is not None

    async def admin_use(self, user: User, doing: str, *, quiet: bool = False) -> None:
        """Record that a token used its admin scope; ``quiet`` ones (reads) at most once a
        minute per token."""
        if user.token_id is None or self.on_admin_use is None:
            return
        if quiet:
            key, now = (user.token_id, "read"), time.monotonic()
            if now - self._noted.get(key, -ADMIN_READ_NOTE_EVERY) < ADMIN_READ_NOTE_EVERY:
                return
            if len(self._noted) > 10_000:
                self._noted.clear()
            self._noted[key] = now
        await self.on_admin_use(user, doing)
