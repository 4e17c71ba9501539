"""The runtime helpers for asyncio code: ``from cronium import aio`` then ``await aio.input()``.

The same coroutines as ``cronium.async_<name>``: each call runs the blocking helper in a worker
thread, so the event loop never waits on it.
"""

from __future__ import annotations

from . import async_delete_variable as delete_variable
from . import async_event as event
from . import async_execute_tool_action as execute_tool_action
from . import async_get_condition as get_condition
from . import async_get_variable as get_variable
from . import async_input as input
from . import async_list_variables as list_variables
from . import async_output as output
from . import async_send_discord_message as send_discord_message
from . import async_send_email as send_email
from . import async_send_slack_message as send_slack_message
from . import async_set_condition as set_condition
from . import async_set_variable as set_variable

__all__ = [
    "delete_variable",
    "event",
    "execute_tool_action",
    "get_condition",
    "get_variable",
    "input",
    "list_variables",
    "output",
    "send_discord_message",
    "send_email",
    "send_slack_message",
    "set_condition",
    "set_variable",
]

getVariable = get_variable  # noqa: N816
setVariable = set_variable  # noqa: N816
deleteVariable = delete_variable  # noqa: N816
listVariables = list_variables  # noqa: N816
setCondition = set_condition  # noqa: N816
getCondition = get_condition  # noqa: N816
executeToolAction = execute_tool_action  # noqa: N816
sendEmail = send_email  # noqa: N816
sendSlackMessage = send_slack_message  # noqa: N816
sendDiscordMessage = send_discord_message  # noqa: N816
