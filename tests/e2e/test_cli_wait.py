"""``cronium events run --wait``: it follows the retries, prints an HTTP event's response, and
says how a run ended."""

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import RunningServer, cli, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("data"),
        {"CRONIUM_HTTP_ALLOW_PRIVATE": "true", "CRONIUM_SANDBOX": "native"},
    )
    yield running
    running.stop()


@pytest.fixture
def answering() -> Iterator[str]:
    """A loopback HTTP server answering every GET with a small JSON document."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"pong": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ping"
    httpd.shutdown()
    httpd.server_close()


def _created(server: RunningServer, *args: str) -> int:
    done = cli(server, "events", *args, "--json")
    assert done.returncode == 0, done.stderr
    event_id: int = json.loads(done.stdout)["id"]
    return event_id


def test_wait_follows_the_retries_and_says_how_each_attempt_ended(
    server: RunningServer, tmp_path: Path
) -> None:
    script = tmp_path / "flaky.sh"
    script.write_text("echo trying; exit 3\n")
    event_id = _created(
        server, "create", str(script), "--max-attempts", "2", "--retry-backoff-seconds", "1"
    )
    ran = cli(server, "events", "run", str(event_id), "--wait")
    assert ran.returncode == 3
    assert ran.stdout == "trying\ntrying\n"
    assert "failed (exit code 3)" in ran.stderr
    assert "Attempt 2 is queued as execution" in ran.stderr
    assert ran.stderr.count("failed (exit code 3)") == 2


def test_wait_prints_an_http_events_response(server: RunningServer, answering: str) -> None:
    event_id = _created(server, "create-http", "ping", answering)
    ran = cli(server, "events", "run", str(event_id), "--wait")
    assert ran.returncode == 0, ran.stderr
    response = json.loads(ran.stdout[ran.stdout.index("{") :])
    assert response["status"] == 200
    assert response["body"] == {"pong": True}
    assert (
        f"Execution {json.loads(cli(server, 'executions', 'list', '--json').stdout)[0]['id']}"
        in (ran.stderr)
    )
