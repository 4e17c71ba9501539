"""Tool actions end to end: tools kept encrypted, conditional actions' messages sent by a real
worker's outbox to real servers on loopback (HTTP hooks, SMTP), tool events, scripts calling
the runtime API, retries, and failures that never touch the run."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cronium.crypto import Keyring
from cronium.delivery import Outbox, Sender
from cronium.domain.action import Action, ActionWhen, ToolCall
from cronium.domain.delivery import Delivery, DeliveryRules, DeliverySource, DeliveryStatus
from cronium.domain.egress import EgressPolicy
from cronium.domain.event import EventKind, Language, ResourceLimits
from cronium.domain.execution import Execution, ExecutionStatus
from cronium.domain.user import User
from cronium.errors import InvalidInputError, NotFoundError, SandboxUnavailableError
from cronium.runtime.server import RuntimeServer
from cronium.sandbox.native import NativeBackend
from cronium.service import Service, utcnow
from cronium.settings import WorkerSettings
from cronium.storage import EventFields, Store
from cronium.storage.database import create_engine
from cronium.storage.tables import ToolRow
from cronium.templates import render_params_apart
from cronium.worker import Worker
from tests.backends import missing
from tests.factories import script_event, unique_name, workflow_event, workflow_graph
from tests.loopback import Hooks, Mailbox, hooks, mailbox
from tests.polling import until

EGRESS = EgressPolicy(allow_private=True)  # the test servers are on loopback
QUICK = DeliveryRules(attempts=3, backoff_seconds=0.05, backoff_max_seconds=0.2, timeout_seconds=5)


@dataclass
class World:
    store: Store
    service: Service
    user: User
    hooks: Hooks
    mailbox: Mailbox

    async def tool(self, kind: str, credentials: dict[str, Any], name: str | None = None) -> str:
        name = name or unique_name(kind)
        await self.service.tools.add(self.user, name, kind, credentials)
        return name

    async def slack(self, path: str = "/slack", *answers: Any) -> str:
        url = self.hooks.answer(path, *answers) if answers else self.hooks.url + path
        return await self.tool("slack", {"webhook_url": url})

    async def email(self) -> str:
        credentials = {"host": self.mailbox.host, "port": self.mailbox.port, "tls": "none",
                       "sender": "cronium@example.com"}  # fmt: skip
        return await self.tool("email", credentials)

    async def run(self, fields: EventFields, input: Any = None) -> Execution:
        event = await self.service.create_event(self.user, fields)
        return await self.run_existing(event.id, input)

    async def run_existing(self, event_id: int, input: Any = None) -> Execution:
        queued = await self.service.run_event(self.user, event_id, input)
        return await until(lambda: self._ended(queued.id), 60, f"execution {queued.id} ending")

    async def deliveries(self, execution_id: int, count: int) -> list[Delivery]:
        """The execution's deliveries once ``count`` of them are done (sent or failed)."""

        async def done() -> list[Delivery] | None:
            found = await self.store.deliveries.for_execution(execution_id)
            finished = [d for d in found if d.status is not DeliveryStatus.PENDING]
            return found if len(finished) >= count else None

        return await until(done, 30, f"{count} deliveries of execution {execution_id}")

    async def _ended(self, execution_id: int) -> Execution | None:
        execution = await self.store.executions.get(execution_id)
        return execution if execution.status.is_terminal else None


@pytest.fixture
def servers() -> Iterator[tuple[Hooks, Mailbox]]:
    with hooks() as http, mailbox() as smtp:
        yield http, smtp


@pytest.fixture
async def world(database_url: str, servers: tuple[Hooks, Mailbox]) -> AsyncIterator[World]:
    try:
        NativeBackend().check()
    except SandboxUnavailableError as exc:
        missing(f"the native sandbox backend is not available here: {exc}")
    keyring = Keyring(os.urandom(32))
    engine = create_engine(database_url)
    store = Store(engine, keyring)
    service = Service(store, sender=Sender(store, EGRESS, QUICK, utcnow))
    user, _ = await service.accounts.create_admin(unique_name("ops"))
    runtime = RuntimeServer(database_url, keyring=keyring, egress=EGRESS, delivery=QUICK)
    await asyncio.to_thread(runtime.start)
    settings = WorkerSettings(poll_interval=0.2, egress=EGRESS, delivery=QUICK)
    worker = Worker(store, NativeBackend(), settings, runtime=runtime)
    service.notify_on_enqueue(worker.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    try:
        yield World(store, service, user, *servers)
    finally:
        stop.set()
        await loop
        await asyncio.to_thread(runtime.stop)
        await engine.dispose()


def notify(when: str, tool: str, action: str, **params: Any) -> Action:
    return Action(ActionWhen(when), notify=ToolCall(tool, action, params))


async def test_a_failing_events_actions_send_an_email_and_a_slack_message(world: World) -> None:
    email, slack = await world.email(), await world.slack("/slack")
    actions = (
        notify("failure", email, "send_email", to="oncall@example.com, lead@example.com",
               bcc="audit@example.com", subject="{{ event.name }} {{ execution.status }}",
               body="exit {{ execution.exit_code }}\n{{ log.tail }}"),
        notify("failure", slack, "send_message",
               text="{{ event.name }} failed: {{ log.lines[-1] }}"),
        notify("success", slack, "send_message", text="never sent"),
    )  # fmt: skip
    fields = script_event("echo working; echo 'disk full' >&2; exit 3", name="backup",
                          actions=actions)  # fmt: skip
    failed = await world.run(fields)
    assert failed.status is ExecutionStatus.FAILED
    assert failed.exit_code == 3
    sent = await world.deliveries(failed.id, 2)
    assert [d.status for d in sent] == [DeliveryStatus.SENT, DeliveryStatus.SENT], sent
    assert {d.kind for d in sent} == {"email", "slack"}

    (mail,) = world.mailbox.mails
    assert mail.message["Subject"] == "backup failed"
    assert mail.message["To"] == "oncall@example.com, lead@example.com"
    assert mail.message["From"] == "cronium@example.com"
    assert mail.message["Bcc"] is None
    assert set(mail.recipients) == {"oncall@example.com", "lead@example.com", "audit@example.com"}
    body = mail.message.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip().splitlines() == ["exit 3", "working", "disk full"]

    (message,) = world.hooks.at("/slack")
    assert message.method == "POST"
    assert message.json() == {"text": "backup failed: disk full"}
    # the run is as it ended: the messages changed nothing of it
    assert (await world.store.executions.get(failed.id)).status is ExecutionStatus.FAILED


async def test_transient_failures_are_retried_and_a_failing_message_leaves_the_run_alone(
    world: World,
) -> None:
    flaky = await world.slack("/flaky", 500, (429, {"Retry-After": "0"}, b"slow down"), 200)
    broken = await world.slack("/broken", 503)
    refused = await world.slack("/refused", (400, {}, b"invalid_payload"))
    actions = tuple(
        notify("success", tool, "send_message", text="done") for tool in (flaky, broken, refused)
    )
    done = await world.run(script_event("true", actions=actions))
    assert done.status is ExecutionStatus.SUCCEEDED
    by_tool = {d.tool: d for d in await world.deliveries(done.id, 3)}
    assert by_tool[flaky].status is DeliveryStatus.SENT
    assert by_tool[flaky].attempts == 3
    assert len(world.hooks.at("/flaky")) == 3
    assert by_tool[broken].status is DeliveryStatus.FAILED
    assert (by_tool[broken].attempts, by_tool[broken].code) == (QUICK.attempts, 503)
    assert by_tool[refused].status is DeliveryStatus.FAILED
    assert (by_tool[refused].attempts, by_tool[refused].code) == (1, 400)  # not transient
    again = await world.store.executions.get(done.id)
    assert (again.status, again.error) == (ExecutionStatus.SUCCEEDED, None)


async def test_a_tool_event_sends_its_message_as_its_run(world: World) -> None:
    slack = await world.slack("/tool-event")
    fields = EventFields(
        name=unique_name("notify"),
        kind=EventKind.TOOL,
        language=None,
        script="",
        env={},
        tool_action=ToolCall(slack, "send-message", {"text": "hello {{ input.who }}"}),
    )
    sent = await world.run(fields, input={"who": "ops"})
    assert sent.status is ExecutionStatus.SUCCEEDED, sent.error
    assert sent.output["status"] == "sent"
    assert world.hooks.at("/tool-event")[0].json() == {"text": "hello ops"}
    (delivery,) = await world.store.deliveries.for_execution(sent.id)
    assert delivery.source == "event"

    down = await world.slack("/tool-down", 500)
    failing = EventFields(
        name=unique_name("notify"), kind=EventKind.TOOL, language=None, script="", env={},
        tool_action=ToolCall(down, "send_message", {"text": "x"}),
    )  # fmt: skip
    failed = await world.run(failing)
    assert failed.status is ExecutionStatus.FAILED
    assert "not delivered" in (failed.error or "")


async def test_scripts_send_messages_with_their_owners_tools_only(world: World) -> None:
    slack = await world.slack("/from-script")
    stranger = await world.service.accounts.create_admin(unique_name("stranger"))
    strangers = unique_name("theirs")
    url = world.hooks.url + "/theirs"
    await world.service.tools.add(stranger[0], strangers, "slack", {"webhook_url": url})
    script = f"""
import cronium
sent = cronium.execute_tool_action("slack", "send_message", {{"text": "from a script"}})
print(sent["status"], sent["attempts"])
try:
    cronium.execute_tool_action("{strangers}", "send_message", {{"text": "not mine"}})
except cronium.CroniumAPIError as exc:
    print("refused", exc.status)
"""
    done = await world.run(script_event(script, Language.PYTHON))
    assert done.status is ExecutionStatus.SUCCEEDED, done.error
    lines = [line.line for line in await world.store.logs.read(done.id)]
    assert lines == ["sent 1", "refused 404"]
    assert world.hooks.at("/from-script")[0].json() == {"text": "from a script"}
    assert world.hooks.at("/theirs") == []
    (delivery,) = await world.store.deliveries.for_execution(done.id)
    assert (delivery.tool, delivery.source) == ("slack", "script")
    assert slack  # the owner's only slack tool was the one the kind named


async def test_bad_actions_are_refused_when_the_event_is_saved(world: World) -> None:
    slack = await world.slack()
    bad = {
        "no tool": notify("failure", "nothing-here", "send_message", text="x"),
        "no action": notify("failure", slack, "launch_rocket", text="x"),
        "no text": notify("failure", slack, "send_message"),
        "broken template": notify("failure", slack, "send_message", text="{{ event.name "),
        "unknown name": notify("failure", slack, "send_message", text="{{ secrets.key }}"),
    }
    for why, action in bad.items():
        with pytest.raises(InvalidInputError) as refused:
            await world.service.create_event(world.user, script_event(actions=(action,)))
        assert refused.value.message.startswith("actions[0].notify: "), (why, refused.value)
    names = [event.name for event in await world.service.own_events(world.user)]
    assert names == []


async def test_credentials_are_stored_encrypted_and_never_shown(world: World) -> None:
    secret_path = "/services/T000/B000/XXXXsecretXXXX"
    name = await world.tool("slack", {"webhook_url": world.hooks.url + secret_path})
    password = "smtp-password-1234"
    mail = await world.tool("email", {"host": "127.0.0.1", "port": 2525, "tls": "none",
        "username": "ops", "password": password, "sender": "ops@example.com"})  # fmt: skip
    for tool in await world.service.tools.owned(world.user):
        shown = repr(tool) + repr(tool.summary)
        assert "XXXXsecretXXXX" not in shown
        assert password not in shown
        assert tool.credentials is None
    async with world.store.db.read() as session:
        stored = " ".join(row.ciphertext for row in await session.scalars(select(ToolRow)))
    for clear in ("secret", password, "example.com"):
        assert clear not in stored
    assert (await world.service.tools.get(world.user, mail)).summary["host"] == "127.0.0.1"
    await world.service.tools.delete(world.user, name)
    with pytest.raises(NotFoundError):
        await world.service.tools.get(world.user, name)


async def test_a_private_address_is_refused_unless_allowed(world: World) -> None:
    name = await world.slack("/private")
    strict = Sender(world.store, EgressPolicy(), QUICK, utcnow)
    delivery = await strict.send_now(world.user.id, ToolCall(name, "send_message", {"text": "x"}),
                                     source=DeliverySource.TEST)  # fmt: skip
    assert delivery.status is DeliveryStatus.FAILED
    assert "CRONIUM_HTTP_ALLOW_PRIVATE" in (delivery.error or "")
    assert delivery.attempts == 1  # a refusal is not retried
    assert world.hooks.at("/private") == []


async def test_a_tool_event_is_a_workflow_node_fed_by_the_node_before(world: World) -> None:
    slack = await world.slack("/flow")
    count = await world.service.create_event(
        world.user, script_event("import cronium; cronium.output({'n': 3})", Language.PYTHON)
    )
    tell = await world.service.create_event(
        world.user,
        EventFields(
            name=unique_name("tell"), kind=EventKind.TOOL, language=None, script="", env={},
            tool_action=ToolCall(slack, "send_message", {"text": "{{ input.n }} rows"}),
        ),
    )  # fmt: skip
    graph = workflow_graph({"count": count.id, "tell": tell.id}, ("count", "tell"))
    flow = await world.service.create_event(world.user, workflow_event(graph))
    run = await world.run_existing(flow.id)
    assert run.status is ExecutionStatus.SUCCEEDED, run.error
    assert world.hooks.at("/flow")[0].json() == {"text": "3 rows"}


async def test_a_delivery_held_by_a_sender_that_died_is_sent_by_another(world: World) -> None:
    """The outbox's hold: a claimed delivery nobody records is due again once it passes."""
    slack = await world.slack("/held")
    event = await world.service.create_event(world.user, script_event())
    execution = await world.service.run_event(world.user, event.id)
    now = datetime.now(UTC)
    async with world.store.db.write() as unit:
        call = ToolCall(slack, "send_message", {"text": "once at least"})
        row = world.store.deliveries.add_pending(unit, world.user.id, execution.id, call, now)
        row.claimed_until = now + timedelta(seconds=2)  # held by a sender that then died
    await asyncio.sleep(0.5)
    assert world.hooks.at("/held") == []  # nobody else sends it while it is held
    (delivery,) = await until(
        lambda: _sent(world, execution.id), 30, "the delivery sent by the worker's outbox"
    )
    assert delivery.attempts == 1
    assert world.hooks.at("/held")[0].json() == {"text": "once at least"}


async def _sent(world: World, execution_id: int) -> list[Delivery] | None:
    found = await world.store.deliveries.for_execution(execution_id)
    return found if found and found[0].status is DeliveryStatus.SENT else None


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (Language.PYTHON, "cronium.output(cronium.event()['event_name'])"),
        (Language.NODE, "cronium.output('node').then(() => {})"),
    ],
)
async def test_an_event_may_have_the_helpers_as_a_global(
    world: World, language: Language, script: str
) -> None:
    done = await world.run(script_event(script, language, global_helpers=True, name="glob"))
    assert done.status is ExecutionStatus.SUCCEEDED, done.error
    assert done.output == ("glob" if language is Language.PYTHON else "node")
    plain = await world.run(script_event(script, language))
    assert plain.status is ExecutionStatus.FAILED  # no global unless the event asks


async def test_a_stopping_outbox_records_what_it_is_sending(world: World) -> None:
    """Stopped while a message is on its way, the outbox waits for its answer and records it:
    cut off, the delivery would stay pending and be sent again by another worker."""
    slack = await world.slack("/slow")
    world.hooks.delays["/slow"] = 1.0
    event = await world.service.create_event(world.user, script_event())
    execution = await world.service.run_event(world.user, event.id)
    later = utcnow() + timedelta(hours=1)  # due then: the world's worker leaves it alone
    outbox = Outbox(Sender(world.store, EGRESS, QUICK, lambda: later + timedelta(minutes=1)))
    async with world.store.db.write() as unit:
        call = ToolCall(slack, "send_message", {"text": "on its way"})
        world.store.deliveries.add_pending(unit, world.user.id, execution.id, call, later)
    sending = asyncio.create_task(outbox.run())
    await until(lambda: world.hooks.at("/slow"), 30, "the message reaching the hook")
    outbox.stop()
    await asyncio.wait_for(sending, 30)
    (delivery,) = await world.store.deliveries.for_execution(execution.id)
    assert delivery.status is DeliveryStatus.SENT


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(2000) %}{{ ((range(10000)|list)*26)|sort(reverse=true)|first }}"
        "{% endfor %}",  # costly steps: bounded by CPU time
        "{{ ['x' * 200000] * 500 }}",  # a huge value: bounded by memory and size
    ],
)
async def test_a_costly_template_is_stopped_by_its_process_bounds(template: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        await render_params_apart({"text": template}, {"event": {}})
    assert "template" in refused.value.message


async def test_rendering_apart_gives_the_rendered_params() -> None:
    params = {"text": "{{ event.name }} ended", "blocks": [{"text": "{{ input.n + 1 }}"}]}
    rendered = await render_params_apart(params, {"event": {"name": "nightly"}, "input": {"n": 1}})
    assert rendered == {"text": "nightly ended", "blocks": [{"text": "2"}]}
    plain = {"text": "no template here"}
    assert await render_params_apart(plain, {}) is plain  # no process for plain text


async def test_a_scripts_message_is_sent_as_written_not_as_a_template(world: World) -> None:
    await world.slack("/braces")
    script = """
import cronium
cronium.send_slack_message("#ops", "build failed: {{ user.name }} {%")
"""
    done = await world.run(script_event(script, Language.PYTHON))
    assert done.status is ExecutionStatus.SUCCEEDED, done.error
    assert world.hooks.at("/braces")[0].json()["text"] == "build failed: {{ user.name }} {%"


async def test_a_tool_event_that_times_out_records_its_delivery_as_failed(world: World) -> None:
    slow = await world.slack("/too-slow")
    world.hooks.delays["/too-slow"] = 3.0
    fields = EventFields(
        name=unique_name("notify"), kind=EventKind.TOOL, language=None, script="", env={},
        tool_action=ToolCall(slow, "send_message", {"text": "late"}),
        limits=ResourceLimits(timeout_seconds=1.0),
    )  # fmt: skip
    ended = await world.run(fields)
    assert ended.status is ExecutionStatus.TIMED_OUT
    (delivery,) = await world.store.deliveries.for_execution(ended.id)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error == "cancelled before it was delivered"
