"""A run flooding its output through a real sandbox and worker: what is stored stays within
the cap, and each stream's one marker, stored as its last line, says how much was dropped."""

from __future__ import annotations

import re

import pytest

from cronium.errors import SandboxUnavailableError
from cronium.sandbox import create_backend
from cronium.sandbox.spec import SandboxBackend
from cronium.service import Service
from cronium.settings import WorkerSettings
from cronium.storage import Store
from cronium.worker import Worker
from tests.backends import missing
from tests.factories import script_event, unique_name

CAP = 100_000
MARKER = re.compile(r"\[cronium: (\w+) (.+); (\d+) more line\(s\), (\d+) byte\(s\), were dropped\]")


@pytest.fixture(scope="module")
def native() -> SandboxBackend:
    try:
        return create_backend("native")
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
        raise


async def flood(store: Store, service: Service, backend: SandboxBackend, script: str) -> int:
    user, _ = await service.accounts.create_admin(unique_name("u"))
    event = await service.create_event(
        user, script_event(script, name=unique_name("flood"), timeout_seconds=60)
    )
    execution_id = (await service.run_event(user, event.id, None)).id
    settings = WorkerSettings(output_cap_bytes=CAP, output_max_lines=1_000_000)
    assert await Worker(store, backend, settings).run_once()
    return execution_id


async def test_a_flood_is_stored_up_to_the_cap_with_one_marker_a_stream_saying_how_much_went(
    store: Store, service: Service, native: SandboxBackend
) -> None:
    script = "yes | head -c 30000000; yes oops | head -c 3000000 >&2"
    execution_id = await flood(store, service, native, script)
    lines = await store.logs.read(execution_id, limit=1_000_000)
    for stream, total_bytes, line_bytes in (("stdout", 30_000_000, 2), ("stderr", 3_000_000, 5)):
        texts = [line.line for line in lines if line.stream == stream]
        markers = [text for text in texts if text.startswith("[cronium:")]
        assert markers == [texts[-1]]
        kept = texts[:-1]
        kept_bytes = sum(len(text.encode()) + 1 for text in kept)
        assert kept_bytes <= CAP
        assert kept_bytes + len(texts[-1]) + 1 <= CAP + 200  # the marker is on top of the cap
        found = MARKER.fullmatch(texts[-1])
        assert found is not None
        assert (found[1], found[2]) == (stream, f"exceeded {CAP} bytes")
        assert kept_bytes + int(found[4]) == total_bytes
        assert len(kept) + int(found[3]) == total_bytes // line_bytes


async def test_output_under_the_cap_is_stored_whole_without_a_marker(
    store: Store, service: Service, native: SandboxBackend
) -> None:
    execution_id = await flood(store, service, native, "seq 1000")
    texts = [line.line for line in await store.logs.read(execution_id, limit=10_000)]
    assert texts == [str(n) for n in range(1, 1001)]
