"""The runtime API with the helpers, from real scripts in real sandboxes, on both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cronium.domain.event import Language
from cronium.domain.execution import ExecutionStatus
from cronium.domain.user import User
from cronium.runtime.app import RuntimeLimits
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.spec import SandboxBackend
from cronium.service import Service
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.worker import Worker
from tests.factories import sandbox_spec, script_event, unique_name
from tests.polling import until
from tests.runs import Done, done

MAX_PAYLOAD = 64 * 1024
RATE_LIMIT = 40


@dataclass
class Harness:
    store: Store
    service: Service
    user: User
    worker: Worker
    runtime: RuntimeServer

    async def run(self, language: Language, script: str, input: Any = None, **env: str) -> Done:
        fields = script_event(script, language, name=unique_name("e"), env=env, timeout_seconds=30)
        event = await self.service.create_event(self.user, fields)
        queued = await self.service.run_event(self.user, event.id, input)
        assert await self.worker.run_once()
        return await done(self.store, queued.id)


@pytest.fixture
async def harness(database_url: str, sandbox_backend: SandboxBackend) -> AsyncIterator[Harness]:
    engine = create_engine(database_url)
    store = Store(engine)
    service = Service(store)
    user, _ = await service.accounts.create_admin("owner")
    runtime = RuntimeServer(
        database_url,
        limits=RuntimeLimits(max_payload_bytes=MAX_PAYLOAD, calls_per_minute=RATE_LIMIT),
    )
    await asyncio.to_thread(runtime.start)
    worker = Worker(store, sandbox_backend, runtime=runtime)
    try:
        yield Harness(store, service, user, worker, runtime)
    finally:
        await asyncio.to_thread(runtime.stop)
        await engine.dispose()


# One script per language that reads its input, adds one to n, counts its runs in a variable
# and hands the result on.
STEP = {
    Language.PYTHON: """
import cronium
data = cronium.input()
runs = cronium.get_variable("runs", 0) + 1
cronium.set_variable("runs", runs)
cronium.output({"n": data["n"] + 1, "runs": runs})
""",
    Language.NODE: """
const cronium = require('cronium');
(async () => {
  const data = await cronium.input();
  const runs = (await cronium.getVariable('runs', 0)) + 1;
  await cronium.setVariable('runs', runs);
  await cronium.output({ n: data.n + 1, runs });
})().catch((error) => { console.error(error.message); process.exit(1); });
""",
    Language.BASH: """
set -e
n=$(cronium_input | jq .n)
runs=$(cronium_get_variable runs || echo 0)
cronium_set_variable runs $((runs + 1))
cronium_output "{\\"n\\": $((n + 1)), \\"runs\\": $((runs + 1))}"
""",
}


@pytest.mark.parametrize("language", list(Language))
async def test_data_is_handed_from_one_run_to_the_next_and_variables_persist(
    harness: Harness, language: Language
) -> None:
    first = await harness.run(language, STEP[language], input={"n": 1})
    assert first.execution.status is ExecutionStatus.SUCCEEDED, first.stderr
    assert first.execution.output == {"n": 2, "runs": 1}
    second = await harness.run(language, STEP[language], input=first.execution.output)
    assert second.execution.output == {"n": 3, "runs": 2}, second.stderr
    found, runs = await harness.store.variables.get(harness.user.id, "runs")
    assert (found, runs) == (True, 2)


async def test_python_helpers_cover_the_whole_api(harness: Harness) -> None:
    script = """
import asyncio, json
import cronium
from cronium import aio
cronium.setVariable("a", {"x": [1, 2]})
cronium.set_variable("b", "text")
print(json.dumps(cronium.list_variables(), sort_keys=True))
print(cronium.delete_variable("b"), cronium.delete_variable("b"), cronium.get_variable("b"))
cronium.set_condition(True)
print(cronium.get_condition())
context = cronium.event()
print(context["event_name"][:2], context["language"], context["attempt"], context["trigger"])
async def main():
    await aio.set_variable("c", 3)
    return await aio.getVariable("c"), await aio.input()
print(asyncio.run(main()))
"""
    done = await harness.run(Language.PYTHON, script, input=[1, 2])
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    assert done.stdout == [
        '{"a": {"x": [1, 2]}, "b": "text"}',
        "True False None",
        "True",
        "e- python 1 manual",
        "(3, [1, 2])",
    ]
    assert done.execution.condition is True


async def test_bash_helpers_need_no_source_line(harness: Harness) -> None:
    script = """
cronium_set_variable greeting hello
cronium_get_variable greeting
cronium_set_condition false && cronium_get_condition
cronium_event | jq -r .language
cronium_get_variable missing; echo "missing: $?"
cronium_set_condition maybe; echo "bad condition: $?"
"""
    done = await harness.run(Language.BASH, script)
    assert done.stdout == ["hello", "false", "bash", "missing: 1", "bad condition: 2"]
    assert done.stderr == [
        "cronium: the condition must be true or false (or 1/0, yes/no, on/off), not 'maybe'"
    ]


async def test_node_errors_are_readable(harness: Harness) -> None:
    script = """
const cronium = require('cronium');
cronium.setVariable('bad key', 1).catch((error) => {
  console.log(error instanceof cronium.CroniumAPIError, error.status);
  console.log(error.message);
});
"""
    done = await harness.run(Language.NODE, script)
    assert done.stdout[0] == "true 422"
    assert done.stdout[1].startswith("variable key 'bad key' is not valid: use 1 to 128 letters")


async def test_a_script_cannot_use_another_executions_id(harness: Harness) -> None:
    script = """
import os, cronium
other = int(os.environ["CRONIUM_EXECUTION_ID"]) + 1000
try:
    cronium.Client().call("GET", f"/executions/{other}/input")
except cronium.CroniumAPIError as error:
    print(error.status, error.message)
"""
    done = await harness.run(Language.PYTHON, script)
    (line,) = done.stdout
    assert line.startswith("403 this token belongs to execution")


async def test_a_finished_executions_token_is_refused(harness: Harness) -> None:
    leak = (
        "import os\n"
        "print(os.environ['CRONIUM_EXECUTION_ID'])\n"
        "print(open(os.environ['CRONIUM_EXECUTION_TOKEN_FILE']).read())"
    )
    first = await harness.run(Language.PYTHON, leak)
    execution_id, token = first.stdout
    replay = f"""
import cronium
client = cronium.Client(token="{token}")
try:
    client.call("GET", "/executions/{execution_id}/input")
except cronium.CroniumAPIError as error:
    print(error.status, error.message)
"""
    second = await harness.run(Language.PYTHON, replay)
    assert second.stdout == [
        f"401 execution {execution_id} has ended: its token is no longer valid"
    ]
    # and straight from the host, too
    transport = httpx.AsyncHTTPTransport(uds=str(harness.runtime.socket_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
        answer = await client.get(
            f"/executions/{execution_id}/input", headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 401
    assert answer.json()["success"] is False


async def test_a_tampered_token_is_refused(harness: Harness) -> None:
    script = """
import os, cronium
token = open(os.environ["CRONIUM_EXECUTION_TOKEN_FILE"]).read()
forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
try:
    own = os.environ["CRONIUM_EXECUTION_ID"]
    cronium.Client(token=forged).call("GET", f"/executions/{own}/input")
except cronium.CroniumAPIError as error:
    print(error.status, error.message)
"""
    done = await harness.run(Language.PYTHON, script)
    assert done.stdout[0].startswith("401 the execution token is not valid")


async def test_oversized_payloads_get_413_naming_the_limit(harness: Harness) -> None:
    script = f"""
import cronium
try:
    cronium.output("x" * {MAX_PAYLOAD * 2})
except cronium.CroniumAPIError as error:
    print(error.status, error.message)
cronium.output("small enough")
"""
    done = await harness.run(Language.PYTHON, script)
    assert done.stdout[0].startswith("413 the request body")
    assert (
        f"exceeds the limit of {MAX_PAYLOAD} bytes (CRONIUM_RUNTIME_MAX_PAYLOAD)" in done.stdout[0]
    )
    assert done.execution.output == "small enough"


async def test_too_many_calls_get_429(harness: Harness) -> None:
    script = f"""
import cronium
for call in range({RATE_LIMIT + 5}):
    try:
        cronium.get_variable("x")
    except cronium.CroniumAPIError as error:
        print(call, error.status, error.message)
        break
"""
    done = await harness.run(Language.PYTHON, script)
    call, status, *message = done.stdout[0].split()
    assert (int(call), int(status)) == (RATE_LIMIT, 429)
    assert "CRONIUM_RUNTIME_RATE_LIMIT" in " ".join(message)


async def test_a_tool_action_through_a_tool_the_owner_lacks_is_a_404(harness: Harness) -> None:
    script = """
import cronium
try:
    cronium.execute_tool_action("slack", "send", {"text": "hi"})
except cronium.CroniumAPIError as error:
    print(error.status, error.message)
"""
    done = await harness.run(Language.PYTHON, script)
    assert done.stdout == [
        "404 you have no slack tool: add one with `cronium tools add NAME --kind slack`"
    ]


async def test_helpers_say_plainly_when_there_is_no_runtime_api(
    sandbox_backend: SandboxBackend,
) -> None:
    lines: list[str] = []
    script = (
        "import cronium\n"
        "try:\n"
        "    cronium.get_variable('x')\n"
        "except cronium.CroniumError as e:\n"
        "    print(e)\n"
        "print(cronium.input())"
    )
    spec = sandbox_spec(script, Language.PYTHON, input={"from": "file"})
    await sandbox_backend.run(spec, lambda line: lines.append(line.text))
    assert lines[0].startswith("there is no runtime API here")
    assert json.loads(lines[1].replace("'", '"')) == {"from": "file"}


async def test_the_runtime_api_comes_back_when_its_socket_is_removed(harness: Harness) -> None:
    """A cleaner of /tmp removes the socket: the server notices, serves again on a fresh
    socket, and the next script's calls work."""
    runtime = harness.runtime
    runtime.socket_path.unlink()
    await until(
        lambda: runtime.socket_path.exists() and runtime.health.ok, 10, "the socket coming back"
    )
    assert runtime.health.steps == 2  # served twice
    done = await harness.run(Language.BASH, STEP[Language.BASH], input={"n": 1})
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    assert done.execution.output == {"n": 2, "runs": 1}


async def test_an_output_nested_too_deep_is_refused_and_the_listings_still_answer(
    harness: Harness,
) -> None:
    script = """
import cronium
deep = 1
for _ in range(300):
    deep = [deep]
try:
    cronium.output(deep)
except cronium.CroniumAPIError as error:
    print(error.status, error.message)
try:
    cronium.set_variable("bad\\n", 1)
except cronium.CroniumAPIError as error:
    print(error.status)
cronium.output({"ok": True})
"""
    done = await harness.run(Language.PYTHON, script)
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    assert done.stdout[0].startswith("422 the JSON is nested more than 64 levels"), done.stdout
    assert done.stdout[1] in ("400", "404", "422"), done.stdout
    assert done.execution.output == {"ok": True}
    listed = await harness.store.executions.latest(event_id=None, visible_to=None, limit=10)
    assert any(execution.id == done.execution.id for execution in listed)
