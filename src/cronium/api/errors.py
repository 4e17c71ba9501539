"""Translating Cronium's error tree and FastAPI's validation errors into JSON answers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cronium import errors
from cronium.api.statuses import status_of

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def describe_validation_errors(problems: list[dict[str, Any]] | Any) -> str:
    """One readable sentence per problem: where it is, and what is wrong."""
    parts = []
    for problem in problems:
        if problem.get("type") == "json_invalid":
            reason = problem.get("ctx", {}).get("error", "it cannot be parsed")
            parts.append(f"the request body is not valid JSON: {reason}")
            continue
        location = [str(p) for p in problem.get("loc", ()) if p != "body"]
        message = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
        if problem.get("type") == "extra_forbidden":
            message = "is not a known field"
        parts.append(f"{'.'.join(location) or 'body'}: {message}")
    return "; ".join(parts)


async def _on_cronium_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CroniumError)
    status, code = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, errors.RateLimitedError) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(status, code, exc.message, **headers)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_input", describe_validation_errors(exc.errors()))


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # FastAPI's words for a body that is not JSON (or not UTF-8): bad input, like the rest
        return error_response(
            422, "invalid_input", "body: is not valid JSON text in UTF-8: send a JSON document"
        )
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), **(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "an internal error occurred; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(errors.CroniumError, _on_cronium_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
