"""Use cases of a user's tools (``service.tools``): credentials for Slack, Discord, Teams,
email and webhooks, kept encrypted and never shown; messages sent through them.

Listing and reading need the ``read`` scope, adding, replacing, deleting and testing the
``write`` scope. Adding, replacing and deleting are audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cronium.delivery import Sender
from cronium.domain.action import Action, ToolCall
from cronium.domain.audit import AuditAction
from cronium.domain.delivery import (
    TOOL_DESCRIPTION_MAX,
    Delivery,
    DeliverySource,
    Tool,
    check_tool_name,
)
from cronium.domain.execution import Execution
from cronium.domain.tool import ToolKind, check_credentials
from cronium.domain.user import Scope, User
from cronium.errors import CroniumError, InvalidInputError, NotFoundError
from cronium.policy import Policy
from cronium.storage import Store

# What `cronium tools test` sends, by kind.
TEST_MESSAGE = "Cronium test message: this tool works."
TEST_CALLS: dict[ToolKind, tuple[str, dict[str, Any]]] = {
    ToolKind.SLACK: ("send_message", {"text": TEST_MESSAGE}),
    ToolKind.DISCORD: ("send_message", {"content": TEST_MESSAGE}),
    ToolKind.TEAMS: ("send_message", {"title": "Cronium", "text": TEST_MESSAGE}),
    ToolKind.WEBHOOK: ("send", {"body": {"text": TEST_MESSAGE, "test": True}}),
}


class ToolService:
    def __init__(
        self, store: Store, clock: Callable[[], datetime], policy: Policy, sender: Sender
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy
        self.sender = sender

    async def owned(self, user: User) -> list[Tool]:
        self.policy.require(user, Scope.READ, "list tools")
        return await self.store.tools.owned(user.id)

    async def get(self, user: User, name: str) -> Tool:
        self.policy.require(user, Scope.READ, "read tools")
        tool = await self.store.tools.find(user.id, name)
        if tool is None:
            raise NotFoundError(f"you have no tool named {name!r} (see cronium tools list)")
        return tool

    async def add(
        self, user: User, name: str, kind: str, credentials: Any, description: str = ""
    ) -> Tool:
        self.policy.require(user, Scope.WRITE, "add tools")
        checked_kind = _kind(kind)
        values = check_credentials(checked_kind, credentials)
        try:
            check_tool_name(name)
        except ValueError as exc:
            raise InvalidInputError(f"name: {exc}") from None
        if len(description) > TOOL_DESCRIPTION_MAX:
            raise InvalidInputError(f"description: at most {TOOL_DESCRIPTION_MAX} characters")
        tool = await self.store.tools.create(
            user.id, name, checked_kind, values, self.clock(), description
        )
        await self._audit(AuditAction.TOOL_CREATE, user, tool)
        return tool

    async def replace(self, user: User, name: str, credentials: Any) -> Tool:
        """New credentials for one of the caller's tools (same kind)."""
        self.policy.require(user, Scope.WRITE, "change tools")
        current = await self.get(user, name)
        values = check_credentials(ToolKind(current.kind), credentials)
        tool = await self.store.tools.replace(user.id, name, values, self.clock())
        await self._audit(AuditAction.TOOL_CHANGE, user, tool)
        return tool

    async def delete(self, user: User, name: str) -> None:
        self.policy.require(user, Scope.WRITE, "delete tools")
        tool = await self.get(user, name)
        await self.store.tools.delete(user.id, name)
        await self._audit(AuditAction.TOOL_DELETE, user, tool)

    async def test(self, user: User, name: str, to: str | None = None) -> Delivery:
        """Send a test message through the tool (an email to ``to``, or its sender); the
        delivery, sent or failed with the reason."""
        self.policy.require(user, Scope.WRITE, "test tools")
        tool = await self.get(user, name)
        kind = ToolKind(tool.kind)
        if kind is ToolKind.EMAIL:
            revealed = await self.sender.resolve(user.id, name)
            assert revealed.credentials is not None
            recipient = to or revealed.credentials.get("sender")
            action, params = (
                "send_email",
                {
                    "to": recipient,
                    "subject": "Cronium test message",
                    "body": TEST_MESSAGE,
                },
            )
        else:
            action, params = TEST_CALLS[kind]
        return await self.sender.send_now(
            user.id, ToolCall(name, action, params), DeliverySource.TEST
        )

    async def deliveries(self, user: User, limit: int = 100) -> list[Delivery]:
        """The caller's latest deliveries, newest first."""
        self.policy.require(user, Scope.READ, "list deliveries")
        return await self.store.deliveries.recent(user.id, min(max(limit, 1), 1000))

    async def of_execution(self, execution: Execution) -> list[Delivery]:
        """The deliveries of an execution the caller may read (see Service.get_execution)."""
        return await self.store.deliveries.for_execution(execution.id)

    async def check_calls(
        self, owner_id: int, actions: tuple[Action, ...], call: ToolCall | None
    ) -> None:
        """InvalidInputError, saying which, unless every message the event would send (its
        tool action, its actions' ``notify``) names a tool of ``owner_id`` and valid params."""
        calls = [("tool_action", call)] if call is not None else []
        calls += [
            (f"actions[{i}].notify", a.notify)
            for i, a in enumerate(actions)
            if a.notify is not None
        ]
        for where, each in calls:
            assert each is not None
            try:
                await self.sender.checked(owner_id, each)
            except CroniumError as exc:
                raise InvalidInputError(f"{where}: {exc.message}") from None

    async def _audit(self, action: AuditAction, user: User, tool: Tool) -> None:
        await self.store.audit.record(
            action,
            at=self.clock(),
            actor_id=user.id,
            actor=user.name,
            target=f"tool {tool.name}",
            detail={"kind": tool.kind},
        )


def _kind(kind: str) -> ToolKind:
    try:
        return ToolKind(kind)
    except ValueError:
        raise InvalidInputError(
            f"kind: {str(kind)[:40]!r} is not a kind of tool: use one of {', '.join(ToolKind)}"
        ) from None
