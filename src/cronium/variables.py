"""Use cases of a user's variables (``service.variables``): JSON values kept by key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cronium.domain.user import User
from cronium.domain.variable import check_key
from cronium.errors import NotFoundError
from cronium.storage import Store


class VariableService:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def list(self, user: User) -> dict[str, Any]:
        return await self.store.variables.all(user.id)

    async def get(self, user: User, key: str) -> Any:
        found, value = await self.store.variables.get(user.id, check_key(key))
        if not found:
            raise NotFoundError(f"you have no variable {key!r}")
        return value

    async def set(self, user: User, key: str, value: Any) -> None:
        await self.store.variables.put(user.id, check_key(key), value, self.clock())

    async def delete(self, user: User, key: str) -> None:
        if not await self.store.variables.delete(user.id, check_key(key)):
            raise NotFoundError(f"you have no variable {key!r}")
