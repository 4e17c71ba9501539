"""Cronium's runtime helpers for Python scripts: ``import cronium``.

    data = cronium.input()                    # the previous step's output, or the run's input
    cronium.set_variable("count", 1)          # the owner's variables, kept across runs
    cronium.output({"ok": True})              # handed on to the next step
    cronium.set_condition(True)               # chooses the branch of a workflow

Errors raise :class:`CroniumError`; answers of the API that are errors raise
:class:`CroniumAPIError` with the status code and the API's message. Connection failures and
503 answers are retried with backoff. Standard library only.
"""

from __future__ import annotations

import json
import os
import time

# The C modules under socket and threading: the Python ones import enum and selectors, which
# cost a few milliseconds at every run and give nothing used here.
from _socket import AF_UNIX, SOCK_STREAM
from _socket import socket as _unix_socket
from _thread import _local

# Type checkers take TYPE_CHECKING as true; at run time the typing module is not imported,
# which in a sandbox costs about ten milliseconds per run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CroniumAPIError",
    "CroniumError",
    "delete_variable",
    "event",
    "execute_tool_action",
    "get_condition",
    "get_variable",
    "input",
    "list_variables",
    "output",
    "set_condition",
    "set_variable",
]

RETRY_DELAYS = (0.05, 0.2, 0.5)
INPUT_FILE = "/run/cronium/input.json"


class CroniumError(Exception):
    """The helper could not do what was asked (no runtime API, bad argument, lost connection)."""


class CroniumAPIError(CroniumError):
    """The runtime API answered with an error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.message = message


class _Connection:
    """HTTP/1.1 with keep-alive over a Unix socket, for the one server it talks to.

    A few lines instead of http.client: importing that (and the email package under it) costs
    more than a call, and its header parsing more than the server's answer.
    """

    def __init__(self, path: str) -> None:
        self._socket = _unix_socket(AF_UNIX, SOCK_STREAM)
        self._socket.settimeout(60)
        self._socket.connect(path)
        self._buffer = b""

    def request(self, method: str, path: str, body: bytes | None, token: str) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: runtime\r\nAuthorization: Bearer {token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
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
    """A connection to the runtime API, kept open between calls."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = url if url is not None else os.environ.get("CRONIUM_RUNTIME_API", "")
        self.token = token if token is not None else _token()
        self.execution_id = os.environ.get("CRONIUM_EXECUTION_ID", "")
        self._connection: _Connection | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Call the API; the ``data`` of its answer."""
        if not self.url.startswith("unix://"):
            raise CroniumError(
                "there is no runtime API here (CRONIUM_RUNTIME_API is not set): the helpers "
                "work in scripts that Cronium runs"
            )
        payload = None if body is None else _encode(body)
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                status, answer = self._send(method, path, payload)
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

    def _send(self, method: str, path: str, payload: bytes | None) -> tuple[int, bytes]:
        if self._connection is None:
            self._connection = _Connection(self.url.removeprefix("unix://"))
        return self._connection.request(method, path, payload, self.token)

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


def input() -> Any:
    """The run's input: the previous step's output, the webhook's body, or the manual input."""
    client = _default()
    if not client.url and os.path.exists(INPUT_FILE):
        with open(INPUT_FILE, encoding="utf-8") as file:
            return json.load(file)
    return client.call("GET", client.execution_path("input"))


def output(data: Any) -> None:
    """Hand ``data`` (anything JSON can hold: no NaN or infinities) on to the next step; stored
    with the execution."""
    client = _default()
    client.call("POST", client.execution_path("output"), {"data": data})


def get_variable(key: str, default: Any = None) -> Any:
    """The value of one of your variables, or ``default`` if it is not set."""
    client = _default()
    try:
        return client.call("GET", client.execution_path(f"variables/{_key(key)}"))
    except CroniumAPIError as exc:
        if exc.status == 404:
            return default
        raise


def set_variable(key: str, value: Any) -> None:
    """Set one of your variables to ``value`` (anything JSON can hold: no NaN or infinities);
    the next execution sees it. The last write wins."""
    client = _default()
    path = client.execution_path(f"variables/{_key(key)}")
    client.call("PUT", path, {"value": value})


def delete_variable(key: str) -> bool:
    """Delete a variable; whether it was set."""
    client = _default()
    try:
        client.call("DELETE", client.execution_path(f"variables/{_key(key)}"))
    except CroniumAPIError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def list_variables() -> dict[str, Any]:
    """All your variables."""
    client = _default()
    variables: dict[str, Any] = client.call("GET", client.execution_path("variables"))
    return variables


def set_condition(condition: bool) -> None:
    """Choose the branch: workflow edges ON_CONDITION follow it."""
    if not isinstance(condition, bool):
        raise CroniumError(f"the condition must be True or False, not {condition!r}")
    client = _default()
    client.call("POST", client.execution_path("condition"), {"condition": condition})


def get_condition() -> bool | None:
    """The condition set so far, or None."""
    client = _default()
    condition: bool | None = client.call("GET", client.execution_path("condition"))
    return condition


def event() -> dict[str, Any]:
    """What is running: event id, name and language, execution id, attempt, trigger..."""
    client = _default()
    context: dict[str, Any] = client.call("GET", client.execution_path("context"))
    return context


def execute_tool_action(tool: str, action: str, params: dict[str, Any] | None = None) -> Any:
    """Run a tool action (Slack, email, webhook...) with ``params``."""
    body = {"tool": tool, "action": action, "params": params or {}}
    return _default().call("POST", "/tool-actions/execute", body)


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


# The names of Cronium's documentation.
getVariable = get_variable  # noqa: N816
setVariable = set_variable  # noqa: N816
deleteVariable = delete_variable  # noqa: N816
listVariables = list_variables  # noqa: N816
setCondition = set_condition  # noqa: N816
getCondition = get_condition  # noqa: N816
executeToolAction = execute_tool_action  # noqa: N816
