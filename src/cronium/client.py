"""A small HTTP client for the REST API, used by the CLI's client commands."""

from __future__ import annotations

from typing import Any

import httpx

from cronium.errors import CroniumError

DEFAULT_URL = "http://127.0.0.1:8080"


class ClientError(CroniumError):
    """The server could not be reached, or refused the request; the message says why."""


def server_root(url: str) -> str:
    """The server's address from what a user gives: a trailing ``/`` or ``/api/v1`` is
    understood (the client adds ``/api/v1`` itself)."""
    root = url.strip().rstrip("/")
    return root.removesuffix("/api/v1").rstrip("/")


class ApiClient:
    """Calls ``/api/v1`` on a Cronium server with an API token."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0) -> None:
        if not token:
            raise ClientError(
                "no API token: set CRONIUM_TOKEN (or pass --token); "
                "`cronium users create-admin NAME` makes one"
            )
        self.url = server_root(url)
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def post_text(self, path: str, text: str, content_type: str) -> Any:
        return self.request("POST", path, content=text, headers={"Content-Type": content_type})

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ClientError(
                f"cannot reach the Cronium server at {self.url} ({exc}): is it running? "
                "Set CRONIUM_URL to its address"
            ) from exc
        if response.is_error:
            raise ClientError(f"{response.status_code}: {_message(response)}")
        if response.status_code == 204:
            return None
        if "json" not in response.headers.get("content-type", ""):
            return response.text
        return response.json()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(body)
