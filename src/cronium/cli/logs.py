"""``cronium logs EXECUTION [-f]``: an execution's output, stdout to stdout and stderr to
stderr; with ``-f`` followed live (Server-Sent Events) until it ends, exiting with its code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from cronium.cli.common import TokenOption, UrlOption, app, err, out
from cronium.client import DEFAULT_URL, ApiClient, ClientError, server_root

PAGE = 10_000
RECONNECTS = 5
EXIT_WITHOUT_CODE = 1


@app.command("logs")
def logs(
    execution_id: int,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Follow the output until the execution ends.")
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Print an execution's output (stderr lines to stderr); with -f, follow it live and exit
    with its exit code (1 if it ended without one)."""
    if not follow:
        client = ApiClient(url, token)
        for line in _pages(client, execution_id):
            print_line(line)
        return
    end = LogFollower(url, token, execution_id).run()
    raise typer.Exit(say_end(execution_id, end))


def _pages(client: ApiClient, execution_id: int) -> Iterator[dict[str, Any]]:
    after = -1
    while True:
        page: list[dict[str, Any]] = client.get(
            f"/executions/{execution_id}/logs", after_seq=after, limit=PAGE
        )
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1]["seq"]


def print_line(line: dict[str, Any], *, flush: bool = False) -> None:
    """A line on its own stream: stderr in red on a terminal."""
    console, style = (out, None) if line["stream"] == "stdout" else (err, "red")
    _print(console, line["line"], style, flush=flush)


def _print(console: Console, text: str, style: str | None, *, flush: bool = True) -> None:
    console.print(text, style=style, markup=False, highlight=False, emoji=False, soft_wrap=True)
    if flush:  # a follower's reader (a pipe, say) sees each line as it comes
        console.file.flush()


def say_end(execution_id: int, end: dict[str, Any]) -> int:
    """Say on stderr how the execution ended; the exit code to leave with."""
    code = end.get("exit_code")
    how = [f"exit code {code}"] if code is not None else []
    if end.get("signal") is not None:
        how.append(f"signal {end['signal']}")
    if end.get("error"):
        how.append(str(end["error"]))
    detail = f" ({'; '.join(how)})" if how else ""
    style = "green" if end.get("status") == "succeeded" else "yellow"
    _print(err, f"execution {execution_id} {end.get('status')}{detail}", style)
    return int(code) if code is not None else EXIT_WITHOUT_CODE


class LogFollower:
    """Reads an execution's log stream; reconnects after a dropped connection with
    Last-Event-ID, so no line is lost or printed twice."""

    def __init__(self, url: str, token: str | None, execution_id: int) -> None:
        ApiClient(url, token)  # the same checks (a token is needed) and message
        self.root = server_root(url)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        self.path = f"{self.root}/api/v1/executions/{execution_id}/logs/stream"
        self.last_id: str | None = None

    def run(self) -> dict[str, Any]:
        """Print every line until the end; the end's message."""
        failures = 0
        while True:
            try:
                end = self._stream()
            except httpx.TransportError as exc:
                failures += 1
                if failures > RECONNECTS:
                    raise ClientError(f"lost the server at {self.root}: {exc}") from exc
                continue
            if end is not None:
                return end
            failures += 1  # the stream ended without its end: ask again
            if failures > RECONNECTS:
                raise ClientError("the log stream ended before the execution did")

    def _stream(self) -> dict[str, Any] | None:
        headers = dict(self.headers)
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        timeout = httpx.Timeout(10.0, read=60.0)  # keep-alives come every 15 s
        with httpx.stream("GET", self.path, headers=headers, timeout=timeout) as response:
            if response.is_error:
                response.read()
                raise ClientError(f"{response.status_code}: {_message(response)}")
            for event, ident, data in sse_events(response.iter_lines()):
                if event == "line":
                    print_line(data, flush=True)
                    self.last_id = ident or self.last_id
                elif event == "end":
                    return data
        return None


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(event, id, data as JSON) of each Server-Sent Event; comments are skipped."""
    event, ident, data = "message", None, list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, ident, json.loads("\n".join(data))
            event, ident, data = "message", None, list[str]()
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "id":
            ident = value
        elif field == "data":
            data.append(value)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text or response.reason_phrase
