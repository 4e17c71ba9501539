"""The REST API's request bounds (api/limits.py): each refusal says what it is, with the status
its cause has."""

from typing import Any

import pytest

from cronium.api.limits import BoundedRequests, Bounds
from cronium.errors import AuthenticationError, StorageError


async def _answer(authenticate: Any, body: bytes = b"{}", token: bytes = b"t") -> tuple[int, Any]:
    reached = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    bounded = BoundedRequests(
        app, Bounds(max_body=1000), protected="/api", authenticate=authenticate
    )
    headers = [(b"authorization", b"Bearer " + token)] if token else []
    scope = {"type": "http", "method": "POST", "path": "/api/x", "headers": headers}
    await bounded(scope, receive, send)  # type: ignore[arg-type]
    if reached:
        return 0, None
    return sent[0]["status"], sent[1]["body"]


async def _nobody(scope: object) -> object:
    return object()


async def test_a_database_away_while_authenticating_is_a_503_not_a_413() -> None:
    async def away(scope: object) -> object:
        raise StorageError("the database is unavailable: try again shortly")

    status, body = await _answer(away)
    assert status == 503
    assert b'"storage_unavailable"' in body


async def test_an_unknown_token_is_a_401() -> None:
    async def unknown(scope: object) -> object:
        raise AuthenticationError("unknown token")

    assert (await _answer(unknown))[0] == 401
    assert (await _answer(unknown, token=b""))[0] == 401


@pytest.mark.parametrize(("body", "status"), [(b"x" * 1001, 413), (b"[" * 100, 422), (b"{}", 0)])
async def test_bodies_over_the_caps_are_refused(body: bytes, status: int) -> None:
    assert (await _answer(_nobody, body=body))[0] == status
