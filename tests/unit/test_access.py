"""The REST API's access log (api/access.py): one line per request, and never a secret."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cronium.api.access import AccessLog, access_line, printable, shown_path
from cronium.logs import FIELDS


def test_a_webhook_key_is_masked() -> None:
    assert shown_path("/api/v1/hooks/whk_s3cret") == "/api/v1/hooks/***"
    assert shown_path("/api/v1//hooks/whk_s3cret/") == "/api/v1//hooks/***/"


def test_a_token_in_a_path_is_masked() -> None:
    assert shown_path("/api/v1/crn_abcdef/events") == "/api/v1/***/events"


def test_other_paths_are_shown_as_they_are() -> None:
    assert shown_path("/api/v1/events/5/webhook") == "/api/v1/events/5/webhook"


def test_a_path_cannot_write_lines_of_its_own() -> None:
    assert shown_path("/x\nINFO fake") == "/x\\nINFO fake"
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"


def test_a_long_path_is_cut() -> None:
    assert len(shown_path("/" + "a" * 10_000)) < 400


def test_the_line_says_method_path_status_and_milliseconds() -> None:
    scope = {"method": "GET", "path": "/api/v1/hooks/k", "client": ("10.0.0.1", 5000)}
    line = access_line(scope, 202, 0.0123)
    assert line.message == "GET /api/v1/hooks/*** 202 12.3 ms"
    assert line.values == {
        "method": "GET",
        "path": "/api/v1/hooks/***",
        "status": 202,
        "duration_ms": 12.3,
        "client": "10.0.0.1",
    }


async def answer(request: Request) -> PlainTextResponse:
    return PlainTextResponse("made", status_code=201)


async def fail(request: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


APP = Starlette(routes=[Route("/things", answer, methods=["POST"]), Route("/bug", fail)])


async def test_the_middleware_writes_a_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.ASGITransport(app=AccessLog(APP), raise_app_exceptions=False)
    with caplog.at_level(logging.INFO, logger="cronium.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post("/things?token=crn_secret")
            await client.get("/missing")
            await client.get("/bug")
    lines = [(r.getMessage().rsplit(" ", 2)[0], getattr(r, FIELDS)) for r in caplog.records]
    assert [message for message, _ in lines] == [
        "POST /things 201",
        "GET /missing 404",
        "GET /bug 500",
    ]
    assert all(values["duration_ms"] >= 0 for _, values in lines)
    assert "crn_secret" not in caplog.text
