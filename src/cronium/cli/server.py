"""Server-side commands: the processes, the database, users, the doctor, images, the version."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import typing
from collections.abc import Coroutine
from typing import Annotated, Any

import typer
from rich.table import Table

from cronium import __version__
from cronium.cli.common import (
    app,
    db_app,
    err,
    images_app,
    out,
)
from cronium.client import ClientError
from cronium.logs import configure_logging
from cronium.settings import LogLevel, Settings, describe_settings, load_settings


def settings_epilog() -> str:
    lines = ["[b]Settings[/b] (environment variables):\n"]
    for variable, default, description in describe_settings():
        shown = f" [dim](default: {default})[/dim]" if default else ""
        lines.append(f"[cyan]{variable}[/cyan]{shown}: {description}\n")
    return "\n".join(lines)


log = logging.getLogger("cronium.server")

LOG_LEVELS: tuple[str, ...] = typing.get_args(LogLevel)
QUIET_LEVEL = "warning"

QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Log only warnings and errors (--log-level warning)."),
]
LogLevelOption = Annotated[
    LogLevel | None,
    typer.Option(
        "--log-level",
        case_sensitive=False,
        help="Least severity of what is logged [CRONIUM_LOG_LEVEL].",
    ),
]


def quieted(level: str, quiet: bool) -> str:
    """The level to log at: ``level``, or with ``quiet`` at least warnings."""
    if not quiet:
        return level
    return max(level, QUIET_LEVEL, key=LOG_LEVELS.index)


def run_role(role: Coroutine[Any, Any, None]) -> None:
    """Run a server role's coroutine until it returns (it was stopped), and say so."""
    asyncio.run(role)
    log.info("stopped")


def server_settings(quiet: bool, log_level: str | None, **overrides: Any) -> Settings:
    """The settings of a server role (the options over the environment), its logging set up
    by them, once for the process."""
    settings = load_settings(log_level=log_level.lower() if log_level else None, **overrides)
    configure_logging(quieted(settings.log_level, quiet), settings.log_format)
    return settings


# server side

HostOption = Annotated[str | None, typer.Option(help="Listen address [CRONIUM_HOST].")]
PortOption = Annotated[int | None, typer.Option(help="Listen port [CRONIUM_PORT].")]


@app.command(epilog=settings_epilog())
def server(
    host: HostOption = None,
    port: PortOption = None,
    quiet: QuietOption = False,
    log_level: LogLevelOption = None,
) -> None:
    """Run the API and a worker in one process (SQLite and the embedded sandbox by default)."""
    from cronium.server import serve

    settings = server_settings(quiet, log_level, host=host, port=port)
    run_role(serve(settings, say=lambda text: print(text, flush=True)))


@app.command(epilog=settings_epilog())
def api(
    host: HostOption = None,
    port: PortOption = None,
    quiet: QuietOption = False,
    log_level: LogLevelOption = None,
) -> None:
    """Run the REST API alone (with PostgreSQL, beside `cronium worker` and `cronium scheduler`)."""
    from cronium.server import serve

    settings = server_settings(quiet, log_level, host=host, port=port)
    run_role(serve(settings, say=lambda text: print(text, flush=True), with_worker=False))


@app.command(epilog=settings_epilog())
def worker(quiet: QuietOption = False, log_level: LogLevelOption = None) -> None:
    """Run a worker alone: it claims queued executions and runs them in sandboxes.

    SIGTERM or Ctrl-C stops taking work and lets running executions finish for
    CRONIUM_WORKER_SHUTDOWN_GRACE seconds, then cancels the rest; a second Ctrl-C cancels at once.
    """
    from cronium.server import run_worker

    settings = server_settings(quiet, log_level)
    run_role(run_worker(settings))


@app.command(epilog=settings_epilog())
def scheduler(quiet: QuietOption = False, log_level: LogLevelOption = None) -> None:
    """Run the scheduler alone: it fires schedules and requeues what lost workers left."""
    from cronium.server import run_scheduler

    settings = server_settings(quiet, log_level)
    run_role(run_scheduler(settings))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from cronium.storage.database import create_engine, migrate

    async def upgrade() -> None:
        engine = create_engine(load_settings().database_url_value)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    out.print("The database is up to date.")


@app.command()
def doctor() -> None:
    """Say which sandbox backends work on this machine and, for each that does not, why; and
    whether the server's data, state directory and sandbox uids are private."""
    from cronium.doctor import examine_all, examine_privacy

    settings = load_settings()
    table = Table("backend", "works", "details")
    findings = examine_all(settings)
    for finding in findings:
        mark = "[green]yes[/green]" if finding.works else "[red]no[/red]"
        table.add_row(finding.backend, mark, finding.detail)
    out.print(table)
    checks = Table("check", "ok", "details")
    privacy = examine_privacy(settings)
    for finding in privacy:
        mark = "[green]yes[/green]" if finding.works else "[red]no[/red]"
        checks.add_row(finding.backend, mark, finding.detail)
    out.print(checks)
    chosen = next(f for f in findings if f.backend == settings.sandbox)
    verdict = "it works" if chosen.works else "it does not work here"
    out.print(f"The server uses {chosen.backend} (CRONIUM_SANDBOX): {verdict}.")
    private = all(finding.works for finding in privacy)
    if not private:
        out.print("Some of what the server keeps is not private: see the checks above.")
    raise typer.Exit(0 if chosen.works and private else 1)


@images_app.command("build")
def images_build(
    base: Annotated[
        str | None,
        typer.Option(
            help="Build from this image (e.g. debian:bookworm-slim; needs a registry) "
            "instead of a Debian made here with debootstrap."
        ),
    ] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Debian mirror for debootstrap (default: apt's).")
    ] = None,
    fresh_rootfs: Annotated[
        bool, typer.Option(help="Make the debootstrapped Debian again even if it exists.")
    ] = False,
) -> None:
    """Build the docker backend's runner images (bash, python, node)."""
    from cronium.images import ROOTFS_IMAGE, build_images, build_rootfs, image_exists

    def say(text: str) -> None:
        err.print(text, highlight=False)

    try:
        if base is None and (fresh_rootfs or not image_exists(ROOTFS_IMAGE)):
            build_rootfs(say, mirror)
        built = build_images(say, base=base or ROOTFS_IMAGE)
    except subprocess.CalledProcessError as exc:
        output = (exc.stderr or b"").decode(errors="replace").strip()[-2000:]
        raise ClientError(f"{' '.join(map(str, exc.cmd[:3]))}... failed: {output}") from exc
    for tag in built:
        print(tag)


@app.command()
def version() -> None:
    """Print Cronium's version."""
    print(__version__)
