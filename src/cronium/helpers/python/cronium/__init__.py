"""Cronium's runtime helpers for Python scripts: ``import cronium``.

    data = cronium.input()                    # the previous step's output, or the run's input
    cronium.set_variable("count", 1)          # the owner's variables, kept across runs
    cronium.output({"ok": True})              # handed on to the next step
    cronium.set_condition(True)               # chooses the branch of a workflow
    cronium.send_slack_message("#ops", "done")  # through one of the owner's tools

Every function is also a method of ``cronium.cronium`` (a :class:`Cronium`), a coroutine as
``async_<name>`` (``await cronium.async_input()``), and a coroutine method of
:class:`AsyncCronium` (``async with AsyncCronium() as c: await c.input()``). The camelCase
names (``getVariable``...) are aliases.

Errors::

    CroniumError                 the helper could not do what was asked
    ├── CroniumTimeoutError      the runtime API did not answer in time (never retried)
    └── CroniumAPIError          the runtime API answered with an error (.status, .message)

Connection failures and 503 answers are retried with backoff. Standard library only.
"""

from __future__ import annotations

import json
import os
import time

# The C modules under socket and threading: the Python ones import enum and selectors, which
# cost a few milliseconds at every run and give nothing used here.
from _socket import AF_UNIX, SOCK_STREAM
from _socket import socket as _unix_socket
from _thread import _local, allocate_lock

# Type checkers take TYPE_CHECKING as true; at run time the typing module is not imported,
# which in a sandbox costs about ten milliseconds per run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

    P = ParamSpec("P")
    R = TypeVar("R")

    class _Threaded(Protocol):
        def _sync(self) -> Cronium: ...


__all__ = [
    "AsyncCronium",
    "Client",
    "Cronium",
    "CroniumAPIError",
    "CroniumError",
    "CroniumTimeoutError",
    "async_delete_variable",
    "async_event",
    "async_execute_tool_action",
    "async_get_condition",
    "async_get_variable",
    "async_input",
    "async_list_variables",
    "async_output",
    "async_send_discord_message",
    "async_send_email",
    "async_send_slack_message",
    "async_set_condition",
    "async_set_variable",
    "cronium",
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

RETRY_DELAYS = (0.05, 0.2, 0.5)
INPUT_FILE = "/run/cronium/input.json"
TIMEOUT_SECONDS = 60.0
# A tool action waits for the delivery, retries included: the server gives it minutes.
TOOL_ACTION_TIMEOUT_SECONDS = 300.0


class CroniumError(Exception):
    """The helper could not do what was asked (no runtime API, bad argument, lost connection)."""


class CroniumTimeoutError(CroniumError):
    """The runtime API did not answer in time. Not retried: the call may have been done."""


class CroniumAPIError(CroniumError):
    """The runtime API answered with an error: ``status`` (also ``status_code``) and
    ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.message = message

    @property
    def status_code(self) -> int:
        """The HTTP status, under the name of Cronium's documentation."""
        return self.status


class _Connection:
    """HTTP/1.1 with keep-alive over a Unix socket, for the one server it talks to.

    A few lines instead of http.client: importing that (and the email package under it) costs
    more than a call, and its header parsing more than the server's answer.
    """

    def __init__(self, path: str) -> None:
        self._socket = _unix_socket(AF_UNIX, SOCK_STREAM)
        self._socket.settimeout(TIMEOUT_SECONDS)
        self._socket.connect(path)
        self._buffer = b""

    def request(
        self, method: str, path: str, body: bytes | None, token: str, timeout: float
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: runtime\r\nAuthorization: Bearer {token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self._socket.settimeout(timeout)
        self._socket.sendall(head.encode("latin-1") + b"\r\n" + (body or b""))
        header = self._read_until(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, self._read_exactly(length)

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        found, _, self._buffer = self._buffer.partition(marker)
        return found

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        found, self._buffer = self._buffer[:size], self._buffer[size:]
        return found

    def _fill(self) -> None:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionResetError("the runtime API closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        self._socket.close()


def _token() -> str:
    """The run's token: from the file its sandbox holds (or the environment, if set there)."""
    if os.environ.get("CRONIUM_EXECUTION_TOKEN"):
        return os.environ["CRONIUM_EXECUTION_TOKEN"]
    try:
        with open(os.environ.get("CRONIUM_EXECUTION_TOKEN_FILE", "/run/cronium/token")) as file:
            return file.read().strip()
    except OSError:
        return ""


class Client:
    """A connection to the runtime API, kept open between calls (one call at a time: threads
    sharing a client take turns)."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = url if url is not None else os.environ.get("CRONIUM_RUNTIME_API", "")
        self.token = token if token is not None else _token()
        self.execution_id = os.environ.get("CRONIUM_EXECUTION_ID", "")
        self._connection: _Connection | None = None
        self._turn = allocate_lock()

    def call(
        self, method: str, path: str, body: Any = None, timeout: float = TIMEOUT_SECONDS
    ) -> Any:
        """Call the API; the ``data`` of its answer."""
        if not self.url.startswith("unix://"):
            raise CroniumError(
                "there is no runtime API here (CRONIUM_RUNTIME_API is not set): the helpers "
                "work in scripts that Cronium runs"
            )
        payload = None if body is None else _encode(body)
        with self._turn:
            return self._call(method, path, payload, timeout)

    def _call(self, method: str, path: str, payload: bytes | None, timeout: float) -> Any:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                status, answer = self._send(method, path, payload, timeout)
            except TimeoutError as exc:
                self.close()
                raise CroniumTimeoutError(
                    f"the runtime API did not answer {method} {path} within {timeout:g} s"
                ) from exc
            except OSError as exc:
                self.close()
                if delay is None:
                    raise CroniumError(f"cannot reach the runtime API: {exc}") from exc
                time.sleep(delay * (1 + attempt / 10))
                continue
            if status == 503 and delay is not None:
                time.sleep(delay)
                continue
            return _unwrap(status, answer)
        raise CroniumError("unreachable")  # pragma: no cover

    def _send(
        self, method: str, path: str, payload: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        if self._connection is None:
            self._connection = _Connection(self.url.removeprefix("unix://"))
        return self._connection.request(method, path, payload, self.token, timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def execution_path(self, suffix: str) -> str:
        return f"/executions/{self.execution_id}/{suffix}"


def _unwrap(status: int, answer: bytes) -> Any:
    try:
        document = json.loads(answer)
    except ValueError:
        raise CroniumAPIError(status, answer.decode("utf-8", "replace") or "no answer") from None
    if status >= 400 or not document.get("success"):
        error = document.get("error") or {}
        raise CroniumAPIError(status, str(error.get("message", "the runtime API refused")))
    return document.get("data")


_local_state = _local()


def _default() -> Client:
    """This thread's client: one connection per thread, so threads never share one."""
    client: Client | None = getattr(_local_state, "client", None)
    if client is None:
        client = _local_state.client = Client()
    return client


def _key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise CroniumError(f"a variable key must be a non-empty string, not {key!r}")
    return key


def _encode(body: Any) -> bytes:
    """``body`` as JSON, strictly: NaN and infinities are refused (JSON has no such numbers, and
    the other languages could not read them back), as is anything else JSON cannot hold."""
    try:
        return json.dumps(body, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        why = str(exc)
        if why.startswith("Out of range float"):
            why = "NaN and infinities are not JSON numbers (store None, or the number as a string)"
        raise CroniumError(f"the value cannot be stored as JSON: {why}") from exc


def _in_thread(
    method: Callable[Concatenate[Cronium, P], R],
) -> Callable[Concatenate[_Threaded, P], Coroutine[Any, Any, R]]:
    """``method`` of :class:`Cronium` as a coroutine method that runs it in a worker thread,
    so that the event loop never waits on the socket. asyncio is imported when it is called
    (it is loaded by then): ``import cronium`` does not pay for it."""

    async def threaded(self: _Threaded, /, *args: P.args, **kwargs: P.kwargs) -> R:
        import asyncio

        return await asyncio.to_thread(method, self._sync(), *args, **kwargs)

    threaded.__name__ = threaded.__qualname__ = f"async_{method.__name__}"
    threaded.__doc__ = method.__doc__
    return threaded


class Cronium:
    """Every helper as a method. ``cronium.cronium`` is the module's own, whose calls go through
    one connection per thread; ``Cronium(client)`` talks through ``client``."""

    def __init__(self, client: Client | None = None) -> None:
        self._client = client

    def _api(self) -> Client:
        return self._client if self._client is not None else _default()

    def _sync(self) -> Cronium:
        return self

    def input(self) -> Any:
        """The run's input: the previous step's output, the webhook's body, or the manual
        input."""
        client = self._api()
        if not client.url and os.path.exists(INPUT_FILE):
            with open(INPUT_FILE, encoding="utf-8") as file:
                return json.load(file)
        return client.call("GET", client.execution_path("input"))

    def output(self, data: Any) -> None:
        """Hand ``data`` (anything JSON can hold: no NaN or infinities) on to the next step;
        stored with the execution."""
        client = self._api()
        client.call("POST", client.execution_path("output"), {"data": data})

    def get_variable(self, key: str, default: Any = None) -> Any:
        """The value of one of your variables, or ``default`` if it is not set."""
        client = self._api()
        try:
            return client.call("GET", client.execution_path(f"variables/{_key(key)}"))
        except CroniumAPIError as exc:
            if exc.status == 404:
                return default
            raise

    def set_variable(self, key: str, value: Any) -> None:
        """Set one of your variables to ``value`` (anything JSON can hold: no NaN or
        infinities); the next execution sees it. The last write wins."""
        client = self._api()
        client.call("PUT", client.execution_path(f"variables/{_key(key)}"), {"value": value})

    def delete_variable(self, key: str) -> bool:
        """Delete a variable; whether it was set."""
        client = self._api()
        try:
            client.call("DELETE", client.execution_path(f"variables/{_key(key)}"))
        except CroniumAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list_variables(self) -> dict[str, Any]:
        """All your variables (secrets are read by key only)."""
        client = self._api()
        variables: dict[str, Any] = client.call("GET", client.execution_path("variables"))
        return variables

    def set_condition(self, condition: bool) -> None:
        """Choose the branch: workflow edges ON_CONDITION follow it."""
        if not isinstance(condition, bool):
            raise CroniumError(f"the condition must be True or False, not {condition!r}")
        client = self._api()
        client.call("POST", client.execution_path("condition"), {"condition": condition})

    def get_condition(self) -> bool | None:
        """The condition set so far, or None."""
        client = self._api()
        condition: bool | None = client.call("GET", client.execution_path("condition"))
        return condition

    def event(self) -> dict[str, Any]:
        """What is running: the event's id, name and language, the execution's id, attempt,
        trigger... under Cronium's names too (``id``, ``name``, ``type``, ``userId``...)."""
        client = self._api()
        context: dict[str, Any] = client.call("GET", client.execution_path("context"))
        return context

    def execute_tool_action(
        self,
        tool: str,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        config: dict[str, Any] | None = None,
    ) -> Any:
        """Run ``action`` of ``tool`` (one of your tools by name, or a kind: slack, discord,
        teams, email, webhook) with ``params`` (``config``: the same, by Cronium's name); the
        delivery once made. A delivery that failed after its retries raises
        :class:`CroniumAPIError` (502) with the reason."""
        body = {"tool": tool, "action": action, "params": params or config or {}}
        client = self._api()
        return client.call("POST", "/tool-actions/execute", body, TOOL_ACTION_TIMEOUT_SECONDS)

    def send_email(
        self,
        /,
        to: str | list[str],
        subject: str,
        body: str,
        *,
        tool: str | None = None,
        **options: Any,
    ) -> Any:
        """Send an email (``options``: cc, bcc, html, reply_to, attachments) through your email
        tool, or the tool named ``tool``. ``html=True`` (Cronium's flag) sends ``body`` as
        HTML."""
        params = {"to": to, "subject": subject, "body": body, **options}
        if params.get("html") is True:
            params["html"] = params.pop("body")
        return self.execute_tool_action(tool or "email", "send_email", params)

    def send_slack_message(
        self, /, channel: str, text: str, *, tool: str | None = None, **options: Any
    ) -> Any:
        """Post ``text`` to a Slack ``channel`` (``options``: blocks, username, icon_emoji)
        through your Slack tool, or the tool named ``tool``."""
        params = {"channel": channel, "text": text, **options}
        return self.execute_tool_action(tool or "slack", "send_message", params)

    def send_discord_message(
        self, /, channel_id: str, content: str, *, tool: str | None = None, **options: Any
    ) -> Any:
        """Post ``content`` to a Discord channel (``options``: embeds, username) through your
        Discord tool, or the tool named ``tool``."""
        params = {"channel_id": channel_id, "content": content, **options}
        return self.execute_tool_action(tool or "discord", "send_message", params)

    async_input = _in_thread(input)
    async_output = _in_thread(output)
    async_get_variable = _in_thread(get_variable)
    async_set_variable = _in_thread(set_variable)
    async_delete_variable = _in_thread(delete_variable)
    async_list_variables = _in_thread(list_variables)
    async_set_condition = _in_thread(set_condition)
    async_get_condition = _in_thread(get_condition)
    async_event = _in_thread(event)
    async_execute_tool_action = _in_thread(execute_tool_action)
    async_send_email = _in_thread(send_email)
    async_send_slack_message = _in_thread(send_slack_message)
    async_send_discord_message = _in_thread(send_discord_message)

    # The camelCase names.
    getVariable = get_variable  # noqa: N815
    setVariable = set_variable  # noqa: N815
    deleteVariable = delete_variable  # noqa: N815
    listVariables = list_variables  # noqa: N815
    setCondition = set_condition  # noqa: N815
    getCondition = get_condition  # noqa: N815
    executeToolAction = execute_tool_action  # noqa: N815
    sendEmail = send_email  # noqa: N815
    sendSlackMessage = send_slack_message  # noqa: N815
    sendDiscordMessage = send_discord_message  # noqa: N815


class AsyncCronium:
    """Every helper as a coroutine method, each call in a worker thread:
    ``async with AsyncCronium() as c: data = await c.input()``."""

    def __init__(self, client: Client | None = None) -> None:
        self._cronium = Cronium(client)

    def _sync(self) -> Cronium:
        return self._cronium

    async def __aenter__(self) -> AsyncCronium:
        return self

    async def __aexit__(self, *exception: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection of the client given, if any (the module's own are per thread,
        closed when the process ends)."""
        if self._cronium._client is not None:
            self._cronium._client.close()

    input = Cronium.async_input
    output = Cronium.async_output
    get_variable = Cronium.async_get_variable
    set_variable = Cronium.async_set_variable
    delete_variable = Cronium.async_delete_variable
    list_variables = Cronium.async_list_variables
    set_condition = Cronium.async_set_condition
    get_condition = Cronium.async_get_condition
    event = Cronium.async_event
    execute_tool_action = Cronium.async_execute_tool_action
    send_email = Cronium.async_send_email
    send_slack_message = Cronium.async_send_slack_message
    send_discord_message = Cronium.async_send_discord_message

    getVariable = get_variable  # noqa: N815
    setVariable = set_variable  # noqa: N815
    deleteVariable = delete_variable  # noqa: N815
    listVariables = list_variables  # noqa: N815
    setCondition = set_condition  # noqa: N815
    getCondition = get_condition  # noqa: N815
    executeToolAction = execute_tool_action  # noqa: N815
    sendEmail = send_email  # noqa: N815
    sendSlackMessage = send_slack_message  # noqa: N815
    sendDiscordMessage = send_discord_message  # noqa: N815


cronium = Cronium()

input = cronium.input
output = cronium.output
get_variable = cronium.get_variable
set_variable = cronium.set_variable
delete_variable = cronium.delete_variable
list_variables = cronium.list_variables
set_condition = cronium.set_condition
get_condition = cronium.get_condition
event = cronium.event
execute_tool_action = cronium.execute_tool_action
send_email = cronium.send_email
send_slack_message = cronium.send_slack_message
send_discord_message = cronium.send_discord_message

async_input = cronium.async_input
async_output = cronium.async_output
async_get_variable = cronium.async_get_variable
async_set_variable = cronium.async_set_variable
async_delete_variable = cronium.async_delete_variable
async_list_variables = cronium.async_list_variables
async_set_condition = cronium.async_set_condition
async_get_condition = cronium.async_get_condition
async_event = cronium.async_event
async_execute_tool_action = cronium.async_execute_tool_action
async_send_email = cronium.async_send_email
async_send_slack_message = cronium.async_send_slack_message
async_send_discord_message = cronium.async_send_discord_message

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
