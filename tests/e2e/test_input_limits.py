"""A real server against bodies nobody asked for, and its log at debug level kept free of
secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.e2e.server import create_event, run_event, start_server, wait_for_end
from tests.e2e.test_robustness import native_server, resident_bytes

CHUNK = 1024 * 1024
MEMORY_GROWTH = 100 * 1024 * 1024


def flood(megabytes: int, sent: list[int]) -> Iterator[bytes]:
    for _ in range(megabytes):
        sent[0] += CHUNK
        yield b"x" * CHUNK


def post_flood(url: str, megabytes: int, **headers: str) -> tuple[int | None, int]:
    """POST a chunked body of ``megabytes`` MiB; the status (None if the server hung up
    before answering) and how much was sent."""
    sent = [0]
    try:
        response = httpx.post(url, content=flood(megabytes, sent), headers=headers, timeout=60)
    except httpx.HTTPError:
        return None, sent[0]
    return response.status_code, sent[0]


def test_an_unauthenticated_400_mib_body_is_cut_without_the_server_growing(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, {})
    try:
        pid = server.process.pid
        before = resident_bytes(pid)
        hook, _ = post_flood(f"{server.url}/api/v1/hooks/bogus-key", 400)
        events, _ = post_flood(f"{server.url}/api/v1/events", 400)
        grown = resident_bytes(pid) - before
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    assert hook in (413, None)
    assert events in (401, None)
    assert grown < MEMORY_GROWTH, f"the server grew by {grown / 2**20:.0f} MiB"


def test_the_log_at_debug_level_holds_no_secret(tmp_path: Path) -> None:
    """A token, a webhook key and a variable's value never reach the log."""
    secret_value = "s3cr3t-value-4815162342"
    server = native_server(tmp_path, CRONIUM_LOG_LEVEL="debug")
    try:
        with server.client() as client:
            script = (
                f"cronium_set_variable db_password {secret_value}\n"
                "cronium_get_variable db_password >/dev/null"
            )
            event_id = create_event(client, name="secretive", script=script)["id"]
            key = client.post(f"/api/v1/events/{event_id}/webhook").json()["key"]
            assert httpx.post(f"{server.url}/api/v1/hooks/{key}", json={}).status_code == 202
            wait_for_end(client, run_event(client, event_id), timeout=10)
            issued = client.post("/api/v1/tokens", json={"name": "another"}).json()
            client.get("/api/v1/executions", headers={"Authorization": f"Bearer {issued['token']}"})
        token = server.token
    finally:
        server.stop()
    # the administrator's first token is shown once, on purpose, when it is made
    log = "".join(line for line in server.output if "CRONIUM_TOKEN=" not in line)
    assert "DEBUG" in log or "debug" in log.lower()
    for secret in (token, key, secret_value, issued["token"]):
        assert secret
        assert secret not in log, f"{secret[:6]}... is in the log"
