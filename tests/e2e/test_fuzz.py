"""Every operation of the OpenAPI, fuzzed against a real API process on SQLite.

The process is ``cronium api``: it serves every operation but runs nothing, so no request the
fuzzer makes (an HTTP-request event to any address, say) can ever leave this machine; runs it
queues stay queued. The test fails on any 5xx, any status an operation's OpenAPI entry does
not list, and any response that does not match its schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.server import RunningServer, start_server

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = 60


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("fuzz"), {}, role="api")
    yield running
    running.stop()


@pytest.mark.timeout(600)
def test_no_operation_answers_an_error_it_does_not_document(api: RunningServer) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.token}"}
    failures: list[str] = []
    operations = 0
    # revoking a token may revoke the fuzzer's own: that operation goes last
    for operation in sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: operation.label.startswith("DELETE /api/v1/tokens"),
    ):
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.label}: {exc}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)
