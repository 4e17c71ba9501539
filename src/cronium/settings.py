"""Cronium's settings: one typed object, read from ``CRONIUM_*`` environment variables.

Built once at the entry point (the CLI) and passed down; importing this module reads nothing.
Secrets may also come from files: ``CRONIUM_<NAME>_FILE=/path`` reads ``<NAME>`` from that file,
which is how container orchestrators hand secrets over. A worker gets what of them it uses as
one :class:`WorkerSettings`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from cronium.domain.delivery import DeliveryRules
from cronium.domain.egress import EgressPolicy
from cronium.domain.worker import DEFAULT_LEASE
from cronium.errors import ConfigurationError
from cronium.sandbox.host import UidRange
from cronium.sandbox.spec import DEFAULT_OUTPUT_CAP, DEFAULT_OUTPUT_LINES

ENV_PREFIX = "CRONIUM_"
SECRET_FIELDS = ("database_url", "secret_key")
HTTP_MAX_BODY_DEFAULT = 1024 * 1024

SandboxName = Literal["native", "docker", "local-insecure"]
LogLevel = Literal["debug", "info", "warning", "error"]  # least severe first
LogFormat = Literal["text", "json"]


class FileSecretsSource(PydanticBaseSettingsSource):
    """Reads ``CRONIUM_<NAME>_FILE`` for each secret field: the file's content is the value."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = f"{ENV_PREFIX}{field_name.upper()}_FILE"
        path = os.environ.get(variable)
        if field_name not in SECRET_FIELDS or not path:
            return None, field_name, False
        if os.environ.get(f"{ENV_PREFIX}{field_name.upper()}"):
            raise ConfigurationError(
                f"both {ENV_PREFIX}{field_name.upper()} and {variable} are set: keep only one"
            )
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise ConfigurationError(f"{variable}={path} cannot be read: {exc.strerror}") from exc

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """Every setting of a Cronium process. Environment: ``CRONIUM_<FIELD NAME IN CAPITALS>``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(
        default=Path(".cronium"),
        description="Directory for the embedded SQLite database and generated secrets.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql+asyncpg://user:pw@host/db. "
            "Default: SQLite file cronium.db in the data directory."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "The deployment key: 32 random bytes in base64 (`cronium secrets generate-key`)."
            " Secret variables are encrypted under it (AES-256-GCM). Default:"
            " with the embedded SQLite database, the file secret.key in the data directory"
            " (made on first start); a PostgreSQL deployment must be given one."
        ),
    )
    state_dir: Path = Field(
        default=Path("/run/cronium"),
        description=(
            "Private directory (0700, owned by the worker's user) for what a worker makes for"
            " its sandboxes: prepared roots, runtime sockets, bundles. Checked at every use."
        ),
    )
    sandbox_uid_base: int = Field(
        default=2_100_000_000,
        ge=100_000,
        le=4_000_000_000,
        description=(
            "First host uid (and gid) of the range each sandbox gets its own from; no host"
            " account may have one (`cronium doctor` checks). Inside, the script is uid 1000."
        ),
    )
    sandbox_uid_count: int = Field(
        default=65_536,
        ge=16,
        le=16_777_216,
        description="Size of that range: the most sandboxes one host runs at once.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port the HTTP server listens on.")
    web_dist: Path | None = Field(
        default=None,
        description=(
            "Folder of a web UI build to serve at / instead of the one inside the package "
            "(`npm run build` in ui/ with CRONIUM_UI_OUT set makes one)."
        ),
    )
    sandbox: SandboxName = Field(
        default="native",
        description=(
            "Sandbox backend that runs scripts: native, docker or local-insecure "
            "(plain subprocesses without isolation, for development only)."
        ),
    )
    allow_egress: bool = Field(
        default=False,
        description="Whether events may ask for outbound network access (network: egress).",
    )
    http_allow_private: bool = Field(
        default=False,
        description=(
            "Whether HTTP-request events may reach loopback, private, link-local and reserved "
            "addresses (this host, the local network, cloud metadata services)."
        ),
    )
    http_max_body: int = Field(
        default=HTTP_MAX_BODY_DEFAULT,
        ge=1024,
        description="Most bytes of an HTTP-request event's response body kept in its output.",
    )
    delivery_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Attempts of a message through a tool (Slack, email...) before it fails.",
    )
    delivery_backoff: float = Field(
        default=2.0,
        ge=0.01,
        le=3600,
        description="Seconds before a message's second attempt; doubled after each failure.",
    )
    delivery_backoff_max: float = Field(
        default=300.0, ge=0.01, le=86400, description="Most seconds between two attempts."
    )
    delivery_timeout: float = Field(
        default=30.0, ge=1, le=600, description="Seconds one attempt of a message may take."
    )
    worker_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description=(
            "Executions one worker runs at the same time. Default: four per core, at most one "
            "per 512 MiB of memory."
        ),
    )
    worker_tags: str = Field(
        default="",
        description="Comma-separated pools this worker serves, besides events of no pool.",
    )
    worker_lease: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description=(
            "Seconds a running execution's worker may stay silent before the execution counts "
            "as lost (failed, and retried if its event allows); heartbeats come at a third of it."
        ),
    )
    worker_shutdown_grace: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a stopping worker lets running executions finish before cancelling.",
    )
    worker_poll_interval: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds an idle worker waits before looking for queued executions again.",
    )
    output_cap_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Most bytes kept of each of a run's stdout and stderr; the rest is dropped.",
    )
    output_max_lines: int = Field(
        default=100_000,
        ge=100,
        le=10_000_000,
        description="Most lines kept of a run's stdout and stderr together; the rest is dropped.",
    )
    runtime_max_payload: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest request body, in bytes, that scripts may send to the runtime API.",
    )
    runtime_rate_limit: int = Field(
        default=1000,
        ge=1,
        description="Most runtime API calls per minute from one execution.",
    )
    json_max_depth: int = Field(
        default=64,
        ge=2,
        le=1000,
        description=(
            "Deepest nesting of arrays and objects accepted in any JSON (request bodies,"
            " webhooks, the runtime API, inputs, outputs, variables)."
        ),
    )
    log_level: LogLevel = Field(
        default="info", description="Least severity of the server's log messages."
    )
    log_format: LogFormat = Field(
        default="text",
        description="How log lines are written: text, or json (one object per line).",
    )
    session_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 30,
        description="Hours a browser login lasts; each request within it keeps it alive.",
    )
    session_max_days: float = Field(
        default=7.0,
        gt=0,
        le=365,
        description="Days after which a browser login ends however active it is.",
    )
    cookie_secure: bool = Field(
        default=False,
        description=(
            "Whether the session cookie is sent over HTTPS only (set it when a TLS proxy"
            " serves Cronium)."
        ),
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        le=1000,
        description=(
            "Failed logins in a row (per account and per address) before each further try"
            " must wait: 1 s, then doubling up to 15 minutes."
        ),
    )
    retention_days: float = Field(
        default=30.0,
        gt=0,
        le=36500,
        description=(
            "Days an ended execution (with its log) is kept; older ones are pruned by the"
            " scheduler's duties, in bounded batches."
        ),
    )
    retention_per_event: int = Field(
        default=1000,
        ge=1,
        le=10_000_000,
        description="Most ended executions kept per event; the oldest beyond it are pruned.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "Port of a /metrics endpoint of its own, for a worker or scheduler process that"
            " serves no API (the API serves /metrics on its own port)."
        ),
    )
    audit_retention_days: int = Field(
        default=90,
        ge=1,
        le=36500,
        description="Days the audit log keeps an entry; older ones are pruned.",
    )
    access_log: bool = Field(
        default=True,
        description="Whether the REST API logs a line per request (status, duration).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSecretsSource(settings_cls))

    @property
    def sandbox_uids(self) -> UidRange:
        """The host uids the sandboxes get theirs from."""
        return UidRange(self.sandbox_uid_base, self.sandbox_uid_count)

    @property
    def database_url_value(self) -> str:
        """The database URL to connect to, defaulting to SQLite in the data directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'cronium.db'}"


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, for ``--help``."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "" if field.default is None else str(field.default)
        variable = f"{ENV_PREFIX}{name.upper()}"
        if name in SECRET_FIELDS:
            variable += f" (or {variable}_FILE)"
        rows.append((variable, default, field.description or ""))
    return rows


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and ``overrides``), with errors naming the variable."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from exc


def default_capacity() -> int:
    """Concurrent sandboxes a worker takes by default: four per core (scripts mostly wait),
    and at most one per 512 MiB of memory."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 2 * 1024**3
    return max(1, min(4 * cores, memory // (512 * 1024**2)))


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How a worker works: what it takes on, how often it looks and reports, how long it waits
    when stopping, what it keeps of a run's output, and where runs may reach the network.

    Built from :class:`Settings` by :meth:`from_settings`; the defaults are those of a small
    worker, for tests and benchmarks."""

    concurrency: int = 4
    poll_interval: float = 1.0
    tags: frozenset[str] = frozenset()  # the pools served, besides events of no pool
    lease: timedelta = DEFAULT_LEASE
    heartbeat_interval: float = 5.0
    control_interval: float = 0.25  # how often cancellations are looked for
    shutdown_grace: float = 30.0
    record_give_up: float = 10.0  # after the grace: how long more a stopping worker stores ends
    output_cap_bytes: int = DEFAULT_OUTPUT_CAP
    output_max_lines: int = DEFAULT_OUTPUT_LINES
    http_max_body: int = HTTP_MAX_BODY_DEFAULT
    egress: EgressPolicy = dataclasses.field(default_factory=EgressPolicy)
    delivery: DeliveryRules = dataclasses.field(default_factory=DeliveryRules)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerSettings:
        """The worker's part of ``settings``; heartbeats come at a third of the lease."""
        return cls(
            concurrency=settings.worker_concurrency or default_capacity(),
            poll_interval=settings.worker_poll_interval,
            tags=frozenset(tag.strip() for tag in settings.worker_tags.split(",") if tag.strip()),
            lease=timedelta(seconds=settings.worker_lease),
            heartbeat_interval=settings.worker_lease / 3,
            shutdown_grace=settings.worker_shutdown_grace,
            output_cap_bytes=settings.output_cap_bytes,
            output_max_lines=settings.output_max_lines,
            http_max_body=settings.http_max_body,
            egress=EgressPolicy(
                allow_egress=settings.allow_egress, allow_private=settings.http_allow_private
            ),
            delivery=DeliveryRules(
                attempts=settings.delivery_attempts,
                backoff_seconds=settings.delivery_backoff,
                backoff_max_seconds=settings.delivery_backoff_max,
                timeout_seconds=settings.delivery_timeout,
            ),
        )
