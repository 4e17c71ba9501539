"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cronium.accounts import IssuedToken
from cronium.crypto import Keyring
from cronium.domain.user import User
from cronium.errors import SandboxUnavailableError
from cronium.sandbox import create_backend
from cronium.sandbox.spec import SandboxBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from tests import postgres
from tests.backends import missing

TEMPLATE = "cronium_template"
SANDBOX_BACKENDS = ["native", "docker"]
_numbers = itertools.count()


@pytest.fixture(scope="session", params=SANDBOX_BACKENDS)
def sandbox_backend(request: pytest.FixtureRequest) -> SandboxBackend:
    """Each real sandbox backend in turn."""
    try:
        return create_backend(request.param)
    except SandboxUnavailableError as exc:
        missing(f"the {request.param} sandbox backend is not available here: {exc}")
        raise


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Superuser URL of a PostgreSQL server with a migrated template database."""
    url = os.environ.get("CRONIUM_TEST_POSTGRES_URL")
    if url:
        yield _with_template(url)
        return
    binaries = postgres.find_binaries()
    if binaries is None:
        missing("PostgreSQL is not installed: apt-get install postgresql")
        return
    with postgres.throwaway_server(binaries) as server_url:
        yield _with_template(server_url)


def _with_template(server_url: str) -> str:
    async def build() -> None:
        await postgres.drop_database(server_url, TEMPLATE)
        engine = create_engine(await postgres.create_database(server_url, TEMPLATE))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    # Session fixtures may be set up while a test's event loop runs: use a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, build()).result()
    return server_url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh, migrated database, once per kind of database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cronium.db'}"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
        return
    server_url: str = request.getfixturevalue("postgres_server")
    name = f"cronium_test_{os.getpid()}_{next(_numbers)}"
    yield await postgres.create_database(server_url, name, template=TEMPLATE)
    await postgres.drop_database(server_url, name)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """The store of a fresh database, with a deployment key of its own (secrets and tools)."""
    engine = create_engine(database_url)
    yield Store(engine, Keyring(os.urandom(32)))
    await engine.dispose()


@pytest.fixture
def service(store: Store) -> Service:
    return Service(store)


@pytest.fixture
async def admin(service: Service) -> tuple[User, IssuedToken]:
    return await service.accounts.create_admin("admin")
