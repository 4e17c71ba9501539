"""Helpers for tests that drive the REST API through its ASGI app."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cronium.accounts import IssuedToken
from cronium.api.app import create_app
from cronium.domain.user import User
from cronium.service import Service
from tests.factories import event_body


@pytest.fixture
async def client(
    service: Service, admin: tuple[User, IssuedToken]
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(service))
    headers = {"Authorization": f"Bearer {admin[1].secret}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cronium", headers=headers
    ) as http:
        yield http


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """An event made over REST from ``event_body(**changes)``; its JSON."""
    response = await client.post("/api/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    for fragment in fragments:
        assert fragment in body["message"]
