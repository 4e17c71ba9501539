"""The helper API of Cronium's documentation works unchanged beside ours, in each language, from
real scripts in real sandboxes with the real runtime API (docs/runtime.md, "The helpers")."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from cronium.crypto import Keyring
from cronium.delivery import Sender
from cronium.domain.delivery import DeliveryRules, DeliverySource
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import Language
from cronium.domain.execution import ExecutionStatus
from cronium.errors import SandboxUnavailableError
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.native import NativeBackend
from cronium.sandbox.spec import SandboxBackend
from cronium.service import Service, utcnow
from cronium.storage import Store
from cronium.storage.database import create_engine
from cronium.worker import Worker
from tests.backends import missing
from tests.factories import sandbox_spec
from tests.integration import test_runtime
from tests.integration.test_runtime import Done, Harness
from tests.loopback import Hooks, Mailbox, hooks, mailbox

harness = test_runtime.harness  # the fixture: a worker and its runtime API, per database


@pytest.fixture(scope="module")
def native() -> NativeBackend:
    backend = NativeBackend()
    try:
        backend.check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    return backend


FAIL_NODE = ".catch((error) => { console.error(error.stack); process.exit(1); });"


def succeeded(done: Done) -> list[str]:
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    return done.stdout


def context_keys_of(event: Any) -> None:
    """``event`` (a run's context) has ours and Cronium's keys, which agree."""
    assert event["id"] == str(event["event_id"])
    assert event["executionId"] == str(event["execution_id"])
    assert event["userId"] == str(event["owner_id"])
    assert event["name"] == event["eventName"] == event["event_name"]
    assert event["type"] == event["eventType"]
    assert event["eventId"] == event["id"]
    assert event["metadata"] == {
        "attempt": event["attempt"],
        "trigger": event["trigger"],
        "scheduledAt": event["scheduled_at"],
    }


# Python


PYTHON_DOCUMENTED = """
import json
import cronium
from cronium import cronium as instance

data = cronium.input()
cronium.set_variable("last_run", "2024-05-01T10:00:00Z")
print(cronium.get_variable("last_run"))
print(instance.input() == data, instance.get_variable("last_run"))
instance.set_condition(data["n"] > 0)
context = cronium.event()
print(json.dumps(context))
try:
    cronium.set_variable("-bad", 1)
except cronium.CroniumAPIError as error:
    print(error.status_code, error.status, isinstance(error, cronium.CroniumError))
print(issubclass(cronium.CroniumTimeoutError, cronium.CroniumError))
cronium.output({"processed": data["n"]})
"""


async def test_python_helpers_work_as_cronium_documents_them(harness: Harness) -> None:
    out = succeeded(await harness.run(Language.PYTHON, PYTHON_DOCUMENTED, input={"n": 3}))
    assert out[0] == "2024-05-01T10:00:00Z"
    assert out[1] == "True 2024-05-01T10:00:00Z"
    context = json.loads(out[2])
    context_keys_of(context)
    assert context["type"] == "PYTHON"
    assert out[3:] == ["422 422 True", "True"]


PYTHON_ASYNC = """
import asyncio
import cronium
from cronium import AsyncCronium, aio

async def main():
    async with AsyncCronium() as client:
        data = await client.input()
        await client.set_variable("a", data["n"])
        await client.setVariable("b", await client.get_variable("a") + 1)
        print(await client.get_variable("b"), (await client.event())["type"])
    await cronium.async_set_variable("c", 3)
    results = await asyncio.gather(
        cronium.async_get_variable("a"),
        cronium.async_get_variable("c"),
        aio.get_variable("b"),
        cronium.async_list_variables(),
    )
    print(results, await cronium.async_delete_variable("c"))
    await cronium.async_set_condition(True)
    print(await cronium.async_get_condition(), await cronium.async_input())
    await cronium.async_output("done")

asyncio.run(main())
"""


async def test_python_has_async_cronium_and_async_names_for_every_function(
    harness: Harness,
) -> None:
    done = await harness.run(Language.PYTHON, PYTHON_ASYNC, input={"n": 1})
    assert succeeded(done) == [
        "2 PYTHON",
        "[1, 3, 2, {'a': 1, 'b': 2, 'c': 3}] True",
        "True {'n': 1}",
    ]
    assert done.execution.output == "done"
    assert done.execution.condition is True


PYTHON_NAMES = """
import inspect
import cronium
from cronium import aio

names = ["input", "output", "get_variable", "set_variable", "delete_variable",
         "list_variables", "set_condition", "get_condition", "event", "execute_tool_action",
         "send_email", "send_slack_message", "send_discord_message"]
for name in names:
    assert callable(getattr(cronium, name)), name
    assert callable(getattr(cronium.cronium, name)), name
    assert inspect.iscoroutinefunction(getattr(cronium, f"async_{name}")), name
    assert inspect.iscoroutinefunction(getattr(cronium.AsyncCronium, name)), name
    assert inspect.iscoroutinefunction(getattr(aio, name)), name
for name in ["getVariable", "setVariable", "setCondition", "getCondition", "executeToolAction",
             "sendEmail", "sendSlackMessage", "sendDiscordMessage"]:
    assert callable(getattr(cronium, name)), name
print("all there")
"""


async def test_python_has_every_function_under_every_name(harness: Harness) -> None:
    assert succeeded(await harness.run(Language.PYTHON, PYTHON_NAMES)) == ["all there"]


PYTHON_TIMEOUT = """
import socket, time
import cronium

server = socket.socket(socket.AF_UNIX)
server.bind("/tmp/silent.sock")
server.listen()  # takes the connection, never answers
client = cronium.Client(url="unix:///tmp/silent.sock", token="t")
started = time.monotonic()
try:
    client.call("GET", "/executions/1/input", timeout=0.3)
except cronium.CroniumTimeoutError as error:
    print(type(error).__name__, isinstance(error, cronium.CroniumError), error)
print(round(time.monotonic() - started) == 0)
"""


async def test_python_raises_cronium_timeout_error_when_the_api_does_not_answer(
    harness: Harness,
) -> None:
    assert succeeded(await harness.run(Language.PYTHON, PYTHON_TIMEOUT)) == [
        "CroniumTimeoutError True the runtime API did not answer GET /executions/1/input"
        " within 0.3 s",
        "True",
    ]


# Node


NODE_REQUIRE = f"""
const cronium = require('cronium');
const Cronium = require('cronium');
const {{ CroniumAPIError, CroniumError, CroniumTimeoutError }} = require('cronium');
(async () => {{
  const data = await cronium.input();
  await cronium.setVariable('last_run', '2024-05-01T10:00:00Z');
  const client = new Cronium();
  console.log(await client.getVariable('last_run'), (await client.input()).n === data.n);
  await cronium.cronium.setCondition(data.n > 0);
  console.log(JSON.stringify(await client.event()));
  try {{
    await client.setVariable("-bad", 1);
  }} catch (error) {{
    console.log(error instanceof CroniumAPIError, error.statusCode, error.status);
  }}
  console.log(new CroniumTimeoutError('x') instanceof CroniumError);
  await cronium.output({{ processed: data.n }});
}})(){FAIL_NODE}
"""


async def test_node_helpers_work_as_cronium_documents_them_with_require(
    harness: Harness,
) -> None:
    done = await harness.run(Language.NODE, NODE_REQUIRE, input={"n": 3})
    out = succeeded(done)
    assert out[0] == "2024-05-01T10:00:00Z true"
    context = json.loads(out[1])
    context_keys_of(context)
    assert context["type"] == "NODEJS"
    assert out[2:] == ["true 422 422", "true"]
    assert done.execution.output == {"processed": 3}
    assert done.execution.condition is True


NODE_MODULE = """
import { input, output, setVariable, getVariable, Cronium } from 'cronium';
import cronium from 'cronium';

const data = await input();
await setVariable('seen', data.n);
console.log(await getVariable('seen'), await cronium.getVariable('seen'));
console.log(typeof new Cronium().sendSlackMessage, import.meta.url);
await output(data.n + 1);
"""


async def test_node_es_modules_import_the_helpers(harness: Harness) -> None:
    done = await harness.run(Language.NODE, NODE_MODULE, input={"n": 5})
    assert succeeded(done) == ["5 5", "function file:///run/cronium/script.mjs"]
    assert done.execution.output == 6


NODE_NAMES = """
const cronium = require('cronium');
const names = ['input', 'output', 'getVariable', 'setVariable', 'deleteVariable',
  'listVariables', 'setCondition', 'getCondition', 'event', 'executeToolAction', 'sendEmail',
  'sendSlackMessage', 'sendDiscordMessage'];
const instance = new cronium.Cronium();
for (const name of names) {
  for (const holder of [cronium, cronium.cronium, instance]) {
    if (typeof holder[name] !== 'function') throw new Error(`${name} is missing`);
  }
}
console.log('all there');
"""


async def test_node_has_every_function_on_the_module_and_on_instances(harness: Harness) -> None:
    assert succeeded(await harness.run(Language.NODE, NODE_NAMES)) == ["all there"]


# Bash


BASH_DOCUMENTED = """
set -euo pipefail
source /usr/local/bin/cronium.sh
source /usr/local/bin/cronium.sh
input=$(cronium_input)
count=$(echo "$input" | jq '.items | length')
cronium_set_variable "last_run" "2024-05-01T10:00:00Z"
last_run=$(cronium_get_variable "last_run")
echo "last run: $last_run"
cronium_set_variable note '"two words"'
echo "note: $(cronium_getVariable note)"
cronium_set_variable -s lines $'one "quoted"\\nline'
cronium_get_variable lines
cronium_get_variable --json lines
cronium_set_variable counts '{"a": 1}'
cronium_get_variable counts
cronium_setVariable flag false
cronium_get_variable flag
if [ "$count" -gt 0 ]; then cronium_set_condition true; else cronium_set_condition false; fi
cronium_getCondition
cronium_output "{\\"processed_count\\": $count}"
"""


async def test_bash_helpers_work_as_cronium_documents_them(harness: Harness) -> None:
    done = await harness.run(Language.BASH, BASH_DOCUMENTED, input={"items": [1, 2]})
    assert succeeded(done) == [
        "last run: 2024-05-01T10:00:00Z",
        "note: two words",
        'one "quoted"',
        "line",
        '"one \\"quoted\\"\\nline"',
        '{"a":1}',
        "false",
        "true",
    ]
    assert done.execution.output == {"processed_count": 2}
    assert done.execution.condition is True


BASH_CONDITIONS = """
for given in yes ON 1 True no Off 0 FALSE; do
    cronium_set_condition "$given" && cronium_get_condition
done
cronium_setCondition maybe; echo "maybe: $?"
"""


async def test_bash_conditions_take_cronium_spellings_in_any_case(harness: Harness) -> None:
    done = await harness.run(Language.BASH, BASH_CONDITIONS)
    assert done.stdout == [*["true"] * 4, *["false"] * 4, "maybe: 2"]
    assert done.stderr == [
        "cronium: the condition must be true or false (or 1/0, yes/no, on/off), not 'maybe'"
    ]


BASH_UTILITIES = """
cronium_variable_exists missing; echo "exists missing: $?"
cronium_set_variable here 1
cronium_variable_exists here; echo "exists here: $?"
cronium_increment_variable counter
cronium_increment_variable counter 5
cronium_increment_variable counter -10
cronium_increment_variable here 0.5
cronium_set_variable -s word hello
cronium_increment_variable word; echo "word: $?"
cronium_increment_variable counter lots; echo "lots: $?"
cronium_append_variable log first
cronium_append_variable log second
cronium_append_variable log third ', '
cronium_get_variable log
cronium_append_variable here ' apples'
cronium_get_variable here
cronium_set_variable list '[1]'
cronium_append_variable list x; echo "list: $?"
"""


async def test_bash_utilities_exist_increment_and_append(harness: Harness) -> None:
    done = await harness.run(Language.BASH, BASH_UTILITIES)
    assert done.stdout == [
        "exists missing: 1",
        "exists here: 0",
        "1",
        "6",
        "-4",
        "1.5",
        "word: 2",
        "lots: 2",
        "firstsecond, third",
        "1.5 apples",
        "list: 2",
    ]
    assert done.stderr == [
        "cronium: cronium_increment_variable: variable 'word' holds a value of type string,"
        " not a number; nothing was stored",
        "cronium: cronium_increment_variable: N must be a number, not 'lots'",
        "cronium: cronium_append_variable: variable 'list' holds an array, not a string;"
        " nothing was stored",
    ]
    stored = await harness.store.variables.all(harness.user.id)
    assert stored["counter"] == -4
    assert stored["log"] == "firstsecond, third"
    assert stored["list"] == [1]


BASH_CONTEXT = """
cronium_event | jq -c .
cronium_event_field name
cronium_event_field id
cronium_event_field metadata.attempt
cronium_event_field scheduled_at
cronium_event_field nothing; echo "nothing: $?"
cronium_info
"""


async def test_bash_reads_the_context_whole_by_field_and_readably(harness: Harness) -> None:
    out = succeeded(await harness.run(Language.BASH, BASH_CONTEXT))
    context = json.loads(out[0])
    context_keys_of(context)
    assert context["type"] == "BASH"
    assert out[1:6] == [context["name"], context["id"], "1", "null", "nothing: 1"]
    assert out[6:] == [
        f"{key}: {value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"
        for key, value in context.items()
    ]


# Every sandbox


@pytest.mark.parametrize(
    "script",
    [
        "source /usr/local/bin/cronium.sh && type -t cronium_event_field",
        "source cronium.sh && type -t cronium_event_field",  # found on PATH
    ],
)
async def test_the_bash_helpers_are_at_usr_local_bin_in_every_sandbox(
    sandbox_backend: SandboxBackend, script: str
) -> None:
    lines: list[str] = []
    # a bash without BASH_ENV: what sourcing the file gives, alone
    command = (
        f"env -u BASH_ENV bash -c {json.dumps(script)}; "
        "touch /usr/local/bin/x 2>/dev/null || echo read-only"
    )
    await sandbox_backend.run(sandbox_spec(command), lambda line: lines.append(line.text))
    assert lines == ["function", "read-only"]


async def test_the_native_sandbox_keeps_the_hosts_usr_local_bin_beside_the_helpers(
    native: NativeBackend,
) -> None:
    lines: list[str] = []
    script = "LC_ALL=C ls -A /usr/local/bin"
    await native.run(sandbox_spec(script), lambda line: lines.append(line.text))
    host = set(os.listdir("/usr/local/bin"))
    assert lines == sorted({*host, "cronium.sh"})


GLOBAL_SCRIPTS = {
    Language.PYTHON: "print(type(cronium).__name__, cronium.input())",
    Language.NODE: "cronium.input().then((data) => console.log(typeof cronium, data.n));",
}
GLOBAL_OUTPUTS = {Language.PYTHON: "module {'n': 7}", Language.NODE: "function 7"}
NO_GLOBAL = {
    Language.PYTHON: "NameError: name 'cronium' is not defined",
    Language.NODE: "ReferenceError: cronium is not defined",
}


@pytest.mark.parametrize("language", list(GLOBAL_SCRIPTS))
async def test_the_global_cronium_is_there_only_when_the_event_asks(
    sandbox_backend: SandboxBackend, language: Language
) -> None:
    lines: list[str] = []
    spec = sandbox_spec(GLOBAL_SCRIPTS[language], language, input={"n": 7}, global_helpers=True)
    result = await sandbox_backend.run(spec, lambda line: lines.append(line.text))
    assert (result.exit_code, lines) == (0, [GLOBAL_OUTPUTS[language]])
    lines.clear()
    spec = sandbox_spec(GLOBAL_SCRIPTS[language], language, input={"n": 7})
    result = await sandbox_backend.run(spec, lambda line: lines.append(line.text))
    assert result.exit_code == 1
    assert any(NO_GLOBAL[language] in line for line in lines), lines


async def test_an_es_module_with_the_global_helpers_has_them_too(
    sandbox_backend: SandboxBackend,
) -> None:
    lines: list[str] = []
    script = "import { input } from 'cronium';\nconsole.log((await input()).n, typeof cronium);"
    spec = sandbox_spec(script, Language.NODE, input={"n": 2}, global_helpers=True)
    result = await sandbox_backend.run(spec, lambda line: lines.append(line.text))
    assert (result.exit_code, lines) == (0, ["2 function"])


# Tool actions: scripts send through their owner's tools to real servers on loopback


EGRESS = EgressPolicy(allow_private=True)  # the test servers are on loopback
QUICK = DeliveryRules(attempts=2, backoff_seconds=0.05, backoff_max_seconds=0.1, timeout_seconds=5)


@dataclass
class Tools:
    harness: Harness
    hooks: Hooks
    mailbox: Mailbox

    def payloads(self, path: str) -> list[Any]:
        return [received.json() for received in self.hooks.at(path)]


@pytest.fixture
async def tools(database_url: str, sandbox_backend: SandboxBackend) -> AsyncIterator[Tools]:
    """A worker and its runtime API that send, and an owner with a tool of each kind: Slack,
    Discord, email and a webhook named ``hook``, all to servers on loopback."""
    with hooks() as http, mailbox() as smtp:
        keyring = Keyring(os.urandom(32))
        engine = create_engine(database_url)
        store = Store(engine, keyring)
        service = Service(store, sender=Sender(store, EGRESS, QUICK, utcnow))
        user, _ = await service.accounts.create_admin("owner")
        runtime = RuntimeServer(database_url, keyring=keyring, egress=EGRESS, delivery=QUICK)
        await asyncio.to_thread(runtime.start)
        worker = Worker(store, sandbox_backend, runtime=runtime)
        email = {"host": smtp.host, "port": smtp.port, "tls": "none", "sender": "c@example.com"}
        for name, kind, credentials in (
            ("ops-slack", "slack", {"webhook_url": f"{http.url}/slack"}),
            ("ops-discord", "discord", {"webhook_url": f"{http.url}/discord"}),
            ("ops-mail", "email", email),
            ("hook", "webhook", {"url": f"{http.url}/hook"}),
            ("broken", "webhook", {"url": http.answer("/broken", 500)}),
        ):
            await service.tools.add(user, name, kind, credentials)
        try:
            yield Tools(Harness(store, service, user, worker, runtime), http, smtp)
        finally:
            await asyncio.to_thread(runtime.stop)
            await engine.dispose()


PYTHON_SENDS = """
import asyncio
import cronium
from cronium import AsyncCronium

sent = cronium.send_slack_message("#ops", "deployed", username="bot")
print(sent["status"], sent["action"], sent["attempts"])
print(cronium.send_email(to="oncall@example.com", subject="Task Complete",
                         body="Processed 3 items", cc="lead@example.com")["status"])
print(cronium.send_discord_message("123", "hello", embeds=[{"title": "t"}])["status"])
print(cronium.execute_tool_action("hook", "send", {"body": {"n": 1}})["status"])
print(cronium.cronium.send_slack_message("#ops", "by name", tool="ops-slack")["status"])

async def main():
    async with AsyncCronium() as client:
        print((await client.send_slack_message("#ops", "async"))["status"])
    print((await cronium.async_send_email("a@example.com", "S", "<b>B</b>", html=True))["status"])

asyncio.run(main())
for call in (lambda: cronium.execute_tool_action("broken", "send", {"body": 1}),
             lambda: cronium.send_slack_message("#ops", "x", tool="nothing"),
             lambda: cronium.send_discord_message("1", "x" * 2001)):
    try:
        call()
    except cronium.CroniumAPIError as error:
        print(error.status_code, error.message.split(":")[0])
"""

NODE_SENDS = f"""
const cronium = require('cronium');
const Cronium = require('cronium');
(async () => {{
  const message = {{ channel: '#ops', text: 'deployed', username: 'bot' }};
  const sent = await cronium.sendSlackMessage(message);
  console.log(sent.status, sent.action, sent.attempts);
  const mail = {{ to: 'oncall@example.com', subject: 'Task Complete', body: 'Processed 3 items',
    cc: 'lead@example.com' }};
  console.log((await cronium.sendEmail(mail)).status);
  const embeds = [{{ title: 't' }}];
  const discord = {{ channelId: '123', content: 'hello', embeds }};
  console.log((await cronium.sendDiscordMessage(discord)).status);
  console.log((await cronium.executeToolAction('hook', 'send', {{ body: {{ n: 1 }} }})).status);
  const client = new Cronium();
  const named = {{ channel: '#ops', text: 'by name', tool: 'ops-slack' }};
  console.log((await client.sendSlackMessage(named)).status);
  console.log((await client.sendSlackMessage({{ channel: '#ops', text: 'async' }})).status);
  const html = {{ to: 'a@example.com', subject: 'S', body: '<b>B</b>', html: true }};
  console.log((await cronium.sendEmail(html)).status);
  for (const call of [
    () => cronium.executeToolAction('broken', 'send', {{ body: 1 }}),
    () => cronium.sendSlackMessage({{ channel: '#ops', text: 'x', tool: 'nothing' }}),
    () => cronium.sendDiscordMessage({{ channel_id: '1', content: 'x'.repeat(2001) }}),
  ]) {{
    await call().catch((error) => console.log(error.statusCode, error.apiMessage.split(':')[0]));
  }}
}})(){FAIL_NODE}
"""

BASH_SENDS = """
set -e
cronium_send_slack_message "#ops" "deployed" '{"username": "bot"}' \\
    | jq -r '"\\(.status) \\(.action) \\(.attempts)"'
cronium_send_email oncall@example.com "Task Complete" "Processed 3 items" \\
    --cc lead@example.com | jq -r .status
cronium_send_discord_message 123 hello --embed '{"title": "t"}' | jq -r .status
cronium_execute_tool_action hook send '{"body": {"n": 1}}' | jq -r .status
cronium_send_slack_message "#ops" "by name" '{"tool": "ops-slack"}' | jq -r .status
cronium_send_slack_message "#ops" "async" --username bot --icon-emoji :tada: >/dev/null; echo sent
cronium_send_email a@example.com S "<b>B</b>" --html | jq -r .status
set +e
cronium_execute_tool_action broken send '{"body": 1}'; echo "broken: $?"
cronium_send_slack_message "#ops" x '{"tool": "nothing"}'; echo "nothing: $?"
cronium_send_discord_message 1 "$(printf 'x%.0s' {1..2001})"; echo "too long: $?"
"""

SENDS = {Language.PYTHON: PYTHON_SENDS, Language.NODE: NODE_SENDS, Language.BASH: BASH_SENDS}
ERRORS = {
    Language.PYTHON: ["502 the message through tool 'broken' was not delivered after 2 attempt(s)",
                      "404 you have no tool named 'nothing'", "422 params.content"],
    Language.NODE: ["502 the message through tool 'broken' was not delivered after 2 attempt(s)",
                    "404 you have no tool named 'nothing'", "422 params.content"],
    Language.BASH: ["broken: 3", "nothing: 3", "too long: 3"],
}  # fmt: skip


@pytest.mark.parametrize("language", list(SENDS))
async def test_scripts_send_through_their_tools_as_cronium_documents_it(
    tools: Tools, language: Language
) -> None:
    done = await tools.harness.run(language, SENDS[language])
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    assert done.stdout[:7] == ["sent send_message 1", *["sent"] * 6]
    errors = [
        line[: len(want)] for line, want in zip(done.stdout[7:], ERRORS[language], strict=True)
    ]
    assert errors == ERRORS[language], done.stdout
    slack = tools.payloads("/slack")
    assert slack[0] == {"channel": "#ops", "text": "deployed", "username": "bot"}
    assert [payload["text"] for payload in slack] == ["deployed", "by name", "async"]
    assert tools.payloads("/discord") == [{"content": "hello", "embeds": [{"title": "t"}]}]
    assert tools.payloads("/hook") == [{"n": 1}]
    assert len(tools.hooks.at("/broken")) == 2  # tried twice, then the script heard why
    text, html = tools.mailbox.mails
    assert (text.recipients, text.message["Subject"]) == (
        ["oncall@example.com", "lead@example.com"],
        "Task Complete",
    )
    assert text.message.get_content().strip() == "Processed 3 items"
    assert html.message.get_content_type() == "text/html"
    assert html.message.get_content().strip() == "<b>B</b>"
    deliveries = await tools.harness.store.deliveries.for_execution(done.execution.id)
    assert {delivery.source for delivery in deliveries} == {DeliverySource.SCRIPT}
