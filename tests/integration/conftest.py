"""Fixtures of the integration tests."""

from tests.integration.rest import client

__all__ = ["client"]
