"""Parts of the docker backend beyond the shared contract: images and leftovers."""

from __future__ import annotations

import docker
import pytest

from cronium.domain.event import Language
from cronium.errors import SandboxUnavailableError
from cronium.images import runner_image
from cronium.sandbox.docker import OWNER_LABEL, DockerBackend, owner_id
from tests.backends import missing
from tests.factories import sandbox_spec
from tests.integration.test_native_backend import dead_pid
from tests.polling import until


@pytest.fixture(scope="module")
def backend() -> DockerBackend:
    chosen = DockerBackend()
    try:
        chosen.check()
    except SandboxUnavailableError as exc:
        missing(f"the docker sandbox backend is not available here: {exc}")
    return chosen


@pytest.mark.parametrize("language", list(Language))
def test_runner_images_are_hardened(backend: DockerBackend, language: Language) -> None:
    script = (
        "id -un; id -u; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
        "ls /usr/bin/apt /usr/bin/apt-get /usr/bin/dpkg /usr/bin/pip3 /usr/bin/npm 2>/dev/null; "
        "find / -xdev -type f -perm /6000 2>/dev/null; echo end"
    )
    client = backend.client
    output = client.containers.run(
        runner_image(language), ["bash", "-c", script], remove=True, network_mode="none"
    ).decode()
    assert output.splitlines()[:2] == ["cronium", "1000"]
    assert output.splitlines()[2].startswith("/usr/bin/tini -g --")
    assert output.splitlines()[3:] == ["end"]


def test_leftover_containers_of_a_dead_worker_are_removed(backend: DockerBackend) -> None:
    client = backend.client
    dead = owner_id(dead_pid())
    container = client.containers.create(
        runner_image(Language.BASH), ["sleep", "60"], labels={OWNER_LABEL: dead}
    )
    container.start()
    alive = client.containers.create(
        runner_image(Language.BASH), ["sleep", "60"], labels={OWNER_LABEL: owner_id()}
    )
    try:
        removed = backend.remove_leftovers()
        assert container.name in removed
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container.id or "")
        assert client.containers.get(alive.id or "").id == alive.id
    finally:
        alive.remove(force=True)


async def test_no_container_is_left_after_a_run(backend: DockerBackend) -> None:
    spec = sandbox_spec("sleep 30 &", execution_id=424242)
    await backend.run(spec, lambda line: None)

    def no_container_left() -> bool:
        label = f"cronium.execution={spec.execution_id}"
        return backend.client.containers.list(all=True, filters={"label": label}) == []

    await until(no_container_left, 5, "the run's container going")
