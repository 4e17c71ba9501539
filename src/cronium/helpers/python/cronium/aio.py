"""The runtime helpers for asyncio code: ``from cronium import aio`` then ``await aio.input()``.

Each call runs the blocking helper in a worker thread, so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import (
    delete_variable as _delete_variable,
)
from . import (
    event as _event,
)
from . import (
    execute_tool_action as _execute_tool_action,
)
from . import (
    get_condition as _get_condition,
)
from . import (
    get_variable as _get_variable,
)
from . import (
    input as _input,
)
from . import (
    list_variables as _list_variables,
)
from . import (
    output as _output,
)
from . import (
    set_condition as _set_condition,
)
from . import (
    set_variable as _set_variable,
)


async def input() -> Any:
    return await asyncio.to_thread(_input)


async def output(data: Any) -> None:
    await asyncio.to_thread(_output, data)


async def get_variable(key: str, default: Any = None) -> Any:
    return await asyncio.to_thread(_get_variable, key, default)


async def set_variable(key: str, value: Any) -> None:
    await asyncio.to_thread(_set_variable, key, value)


async def delete_variable(key: str) -> bool:
    return await asyncio.to_thread(_delete_variable, key)


async def list_variables() -> dict[str, Any]:
    return await asyncio.to_thread(_list_variables)


async def set_condition(condition: bool) -> None:
    await asyncio.to_thread(_set_condition, condition)


async def get_condition() -> bool | None:
    return await asyncio.to_thread(_get_condition)


async def event() -> dict[str, Any]:
    return await asyncio.to_thread(_event)


async def execute_tool_action(tool: str, action: str, params: dict[str, Any] | None = None) -> Any:
    return await asyncio.to_thread(_execute_tool_action, tool, action, params)


getVariable = get_variable  # noqa: N816
setVariable = set_variable  # noqa: N816
deleteVariable = delete_variable  # noqa: N816
listVariables = list_variables  # noqa: N816
setCondition = set_condition  # noqa: N816
getCondition = get_condition  # noqa: N816
executeToolAction = execute_tool_action  # noqa: N816
