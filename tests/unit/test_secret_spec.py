"""How a run's secrets reach its sandbox, without running one: the runner's spec, bubblewrap's
options and the container's (runners.py, sandbox/native.py, sandbox/docker.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cronium.domain.event import Event, Language
from cronium.domain.execution import Execution
from cronium.errors import NotFoundError
from cronium.runners import ScriptRunner
from cronium.sandbox.docker import container_options
from cronium.sandbox.fake import FakeBackend
from cronium.sandbox.native import DataFiles, build_command
from cronium.settings import WorkerSettings
from tests.factories import sandbox_spec
from tests.unit.test_logs import execution

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "kiwi-anchor-4410"


def _event(**secrets: str) -> Event:
    return Event(
        id=3,
        owner_id=1,
        name="e",
        language=Language.BASH,
        script="true",
        env={"PLAIN": "1"},
        secrets=secrets,  # type: ignore[arg-type]
        created_at=NOW,
        updated_at=NOW,
    )


def _execution() -> Execution:
    return execution()


def _runner() -> ScriptRunner:
    return ScriptRunner(
        FakeBackend(), WorkerSettings(), runtime=None, worker_id="w", clock=lambda: NOW
    )


def test_the_spec_holds_the_mapped_secrets_apart_and_never_shows_them() -> None:
    secrets = {"FILE_ONE": SECRET, "ENV_ONE": "env-value-1", "UNMAPPED": "other-value"}

    spec = _runner().prepare(_execution(), _event(FILE_ONE="file", ENV_ONE="env"), secrets)

    assert spec.secret_files == {"FILE_ONE": SECRET}
    assert spec.secret_env == {"ENV_ONE": "env-value-1"}
    environment = spec.environment()
    assert environment["ENV_ONE"] == "env-value-1"
    assert environment["CRONIUM_SECRETS_DIR"] == "/run/secrets"
    assert SECRET not in environment.values()
    assert "other-value" not in repr(spec)
    assert SECRET not in repr(spec)
    assert "env-value-1" not in repr(spec)


def test_a_mapped_secret_the_owner_no_longer_has_is_named_and_nothing_runs() -> None:
    with pytest.raises(NotFoundError, match="'GONE'") as raised:
        _runner().prepare(_execution(), _event(GONE="file", KEPT="env"), {"KEPT": SECRET})

    assert SECRET not in raised.value.message
    assert "KEPT" not in raised.value.message


def test_bubblewrap_binds_each_file_secret_read_only_in_a_private_tmpfs() -> None:
    spec = sandbox_spec("x", execution_id=5, secret_files={"A": SECRET, "b.c": SECRET})
    files = DataFiles(script=10, seccomp=14, secrets=(("A", 30), ("b.c", 31)))

    args = build_command(
        spec, files=files, info_fd=20, block_fd=21, system=[], prepared=Path("/prepared")
    )

    assert SECRET not in " ".join(args)
    at = args.index("/run/secrets")
    assert args[at - 3 : at + 1] == ["--perms", "0500", "--tmpfs", "/run/secrets"]
    for descriptor, target in (("30", "/run/secrets/A"), ("31", "/run/secrets/b.c")):
        bound = args.index(descriptor)
        assert args[bound - 3 : bound + 2] == [
            "--perms",
            "0400",
            "--ro-bind-data",
            descriptor,
            target,
        ]
    assert files.descriptors() == [10, 14, 30, 31]


def test_without_file_secrets_there_is_no_secrets_tmpfs() -> None:
    spec = sandbox_spec("x", execution_id=5)
    args = build_command(
        spec,
        files=DataFiles(script=10, seccomp=14),
        info_fd=20,
        block_fd=21,
        system=[],
        prepared=Path("/prepared"),
    )

    assert "/run/secrets" not in args


def test_a_container_gets_its_secrets_directory_read_only_and_env_secrets_only_in_its_env() -> None:
    spec = sandbox_spec(
        "x", uid=2100000001, gid=2100000001, secret_files={"A": SECRET}, secret_env={"E": "ev"}
    )

    options = container_options(spec, Path("/tmp/bundle"), None)

    assert options["volumes"]["/tmp/bundle/secrets"] == {"bind": "/run/secrets", "mode": "ro"}
    assert options["environment"]["E"] == "ev"
    assert SECRET not in repr(options)
    assert all(SECRET not in part for part in options["command"])
