"""Each service's payload, what its answers mean, and an email's message: pure, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from cronium.actions.email import build_message
from cronium.actions.messages import (
    Answer,
    answer_of,
    cut,
    discord_payload,
    request_of,
    retry_after,
    slack_payload,
    teams_payload,
)
from cronium.domain.tool import ToolKind, check_credentials, check_params
from cronium.errors import InvalidInputError

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_slack_payload_has_only_the_fields_given() -> None:
    assert slack_payload({"text": "hi", "channel": "#ops", "username": None}) == {
        "text": "hi",
        "channel": "#ops",
    }


def test_texts_over_the_services_limit_are_cut_and_marked() -> None:
    assert len(slack_payload({"text": "x" * 50_000})["text"]) == 40_000
    content = discord_payload({"content": "y" * 3000})["content"]
    assert len(content) == 2000
    assert content.endswith("\n[cut]")
    assert cut("short", 10) == "short"


def test_a_discord_payload_leaves_the_channel_to_the_webhook() -> None:
    params = {"content": "hi", "embeds": [{"title": "t"}], "channel_id": "1", "tts": True}
    assert discord_payload(params) == {"content": "hi", "embeds": [{"title": "t"}], "tts": True}


def test_a_teams_payload_makes_an_adaptive_card_of_title_and_text() -> None:
    payload = teams_payload({"title": "Backup", "text": "done"})
    assert payload["text"] == "done"
    card = payload["attachments"][0]["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert [block["text"] for block in card["body"]] == ["Backup", "done"]
    assert card["body"][0]["weight"] == "Bolder"


def test_a_teams_payload_takes_the_users_own_card() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    payload = teams_payload({"card": card})
    assert payload["attachments"] == [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": card,
        }
    ]
    assert "text" not in payload


def test_a_discord_request_asks_discord_to_wait_for_the_message() -> None:
    credentials = {"webhook_url": "https://discord.com/api/webhooks/1/t?thread_id=5"}
    request = request_of(ToolKind.DISCORD, credentials, {"content": "hi"})
    assert request.method == "POST"
    assert request.url == "https://discord.com/api/webhooks/1/t?thread_id=5&wait=true"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body is not None
    assert json.loads(request.body) == {"content": "hi"}


def test_a_webhook_request_joins_path_and_query_and_merges_headers() -> None:
    credentials = check_credentials(
        ToolKind.WEBHOOK,
        {"url": "https://x.org/api/?k=1", "method": "PATCH", "headers": {"X-A": "1", "X-B": "1"}},
    )
    params = {"path": "/runs/7", "query": {"on": False}, "headers": {"x-b": "2"}, "body": [1]}
    request = request_of(ToolKind.WEBHOOK, credentials, params)
    assert (request.method, request.url) == ("PATCH", "https://x.org/api/runs/7?k=1&on=false")
    assert request.headers == {
        "User-Agent": "Cronium",
        "X-A": "1",
        "x-b": "2",
        "Content-Type": "application/json",
    }
    assert request.body == b"[1]"


def test_a_webhook_string_body_is_sent_as_it_is() -> None:
    credentials = check_credentials(ToolKind.WEBHOOK, {"url": "https://x.org/h"})
    request = request_of(ToolKind.WEBHOOK, credentials, {"body": "<ping/>"})
    assert request.body == b"<ping/>"
    assert request.headers["Content-Type"] == "text/plain; charset=utf-8"
    empty = request_of(ToolKind.WEBHOOK, credentials, {})
    assert empty.body is None


def test_a_get_webhook_has_no_body() -> None:
    credentials = check_credentials(ToolKind.WEBHOOK, {"url": "https://x.org/h", "method": "GET"})
    with pytest.raises(InvalidInputError, match="GET, which has no body"):
        request_of(ToolKind.WEBHOOK, credentials, {"body": {"a": 1}})


@pytest.mark.parametrize(
    ("kind", "status", "body", "delivered", "transient"),
    [
        (ToolKind.SLACK, 200, "ok", True, False),
        (ToolKind.SLACK, 200, '{"ok": true}', True, False),
        (ToolKind.SLACK, 200, "invalid_payload", False, False),
        (ToolKind.SLACK, 400, "invalid_payload", False, False),
        (ToolKind.SLACK, 404, "no_service", False, False),
        (ToolKind.DISCORD, 204, "", True, False),
        (ToolKind.TEAMS, 202, "", True, False),
        (ToolKind.WEBHOOK, 201, "{}", True, False),
        (ToolKind.WEBHOOK, 301, "", False, False),
        (ToolKind.WEBHOOK, 408, "", False, True),
        (ToolKind.WEBHOOK, 429, "", False, True),
        (ToolKind.WEBHOOK, 502, "bad gateway", False, True),
        (ToolKind.WEBHOOK, 403, "", False, False),
    ],
)
def test_an_answer_says_delivered_and_worth_retrying(
    kind: ToolKind, status: int, body: str, delivered: bool, transient: bool
) -> None:
    answer = answer_of(kind, status, {}, body, NOW)
    assert (answer.delivered, answer.transient) == (delivered, transient)
    assert (answer.error is None) is delivered


def test_a_refusal_says_what_to_do() -> None:
    gone = answer_of(ToolKind.SLACK, 404, {}, "no_service", NOW)
    assert gone.error == (
        "Slack refused the message (404): no_service; the webhook may have been deleted: give"
        " the tool its new URL"
    )


def test_retry_after_is_seconds_or_a_date_within_an_hour() -> None:
    assert retry_after("7", NOW) == 7.0
    assert retry_after("1.5", NOW) == 1.5
    assert retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90.0
    assert retry_after(format_datetime(NOW - timedelta(seconds=90), usegmt=True), NOW) == 0.0
    assert retry_after("999999", NOW) == 3600.0
    assert retry_after("soon", NOW) is None
    assert retry_after(None, NOW) is None


def test_a_429_or_503_gives_its_retry_after() -> None:
    assert answer_of(ToolKind.TEAMS, 503, {"retry-after": "30"}, "", NOW).retry_after == 30.0
    assert answer_of(ToolKind.SLACK, 500, {"retry-after": "30"}, "", NOW).retry_after is None
    discord = answer_of(ToolKind.DISCORD, 429, {}, '{"retry_after": 0.75, "global": false}', NOW)
    assert discord == Answer(False, True, 0.75, discord.error)


def test_an_email_has_its_headers_bcc_only_in_the_envelope_and_its_parts() -> None:
    credentials = check_credentials(
        ToolKind.EMAIL, {"host": "smtp.x.org", "sender": "Cron <cron@x.org>"}
    )
    params = check_params(
        ToolKind.EMAIL,
        "send_email",
        {
            "to": "a@x.org, B <b@y.org>",
            "bcc": "hidden@z.org",
            "reply_to": "ops@x.org",
            "subject": "Backup ✓",
            "body": "text",
            "html": "<p>html</p>",
            "attachments": [{"filename": "r.csv", "content_base64": "YSxiCjEsMgo="}],
        },
        rendered=True,
    )
    message, recipients = build_message(credentials, params, now=NOW)
    assert recipients == ["a@x.org", "b@y.org", "hidden@z.org"]
    assert message["From"] == "Cron <cron@x.org>"
    assert message["To"] == "a@x.org, B <b@y.org>"
    assert message["Bcc"] is None
    assert "hidden" not in message.as_string()
    assert message["Subject"] == "Backup ✓"
    assert message["Date"] == "Wed, 01 May 2024 12:00:00 +0000"
    assert message["Message-ID"].endswith("@x.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_body(("html",))
    assert body is not None
    assert body.get_content() == "<p>html</p>\n"
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_content() == "a,b\n1,2\n"


def test_an_html_only_email_has_one_part() -> None:
    credentials = check_credentials(ToolKind.EMAIL, {"host": "h.org", "sender": "c@x.org"})
    params = {"to": ["a@x.org"], "subject": "s", "html": "<b>hi</b>"}
    message, _ = build_message(credentials, params, now=NOW)
    assert message.get_content_type() == "text/html"
