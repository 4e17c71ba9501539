"""A throwaway PostgreSQL server for the test session, from the system's PostgreSQL binaries.

Set CRONIUM_TEST_POSTGRES_URL (a superuser URL) to use a running server instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or None."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return candidates[-1].parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Cluster:
    """A fresh PostgreSQL cluster on a free loopback port, which a test may stop and start."""

    binaries: Path
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cronium-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        """The superuser URL of its ``postgres`` database."""
        return f"postgresql://cronium@127.0.0.1:{self.port}/postgres"

    def create(self) -> Cluster:
        if os.geteuid() == 0:
            shutil.chown(self.base, user="postgres", group="postgres")
        initdb = [str(self.binaries / "initdb"), "-D", str(self.base / "data"), "-U", "cronium"]
        subprocess.run(_as_postgres([*initdb, "--auth=trust"]), check=True, capture_output=True)
        return self.start()

    def start(self) -> Cluster:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl("-o", options, "-l", str(self.base / "log"), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        command = [str(self.binaries / "pg_ctl"), "-D", str(self.base / "data"), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True)


@contextlib.contextmanager
def throwaway_server(binaries: Path) -> Iterator[str]:
    """Start a fresh cluster on a free loopback port; yield its superuser URL; remove it."""
    cluster = Cluster(binaries).create()
    try:
        yield cluster.url
    finally:
        cluster.remove()


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (optionally as a copy of ``template``); return its URL."""
    connection = await asyncpg.connect(server_url)
    try:
        clause = f" TEMPLATE {template}" if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await connection.close()
    return database_url(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
