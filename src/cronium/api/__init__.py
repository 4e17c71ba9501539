"""The REST API: a FastAPI app factory, its routers and schemas."""

from cronium.api.app import create_app

__all__ = ["create_app"]
