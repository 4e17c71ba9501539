"""Tools: their actions' names, their credentials, what may be shown of them, and params."""

from __future__ import annotations

from typing import Any

import pytest

from cronium.domain.tool import (
    ACTIONS,
    ToolKind,
    action_name,
    check_credentials,
    check_params,
    credentials_summary,
    secret_values,
)
from cronium.errors import InvalidInputError

SLACK_URL = "https://hooks.slack.com/services/T0123/B0456/abcdefghijklmnopqrstuvwx"
EMAIL = {"host": "smtp.example.org", "sender": "Cronium <cron@example.org>"}
MAIL = {"to": "a@example.org", "subject": "s", "body": "b"}


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidInputError) as caught:
        call(*args, **kwargs)
    return caught.value.message


# --- actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["send_message", "send-message", "sendMessage", "send", "message"]
)
def test_a_message_action_has_several_spellings(given: str) -> None:
    for kind in (ToolKind.SLACK, ToolKind.DISCORD, ToolKind.TEAMS):
        assert action_name(kind, given) == "send_message"


def test_email_and_webhook_actions_have_theirs() -> None:
    for given in ("send_email", "send-email", "sendEmail", "send", "email"):
        assert action_name(ToolKind.EMAIL, given) == "send_email"
    for given in ("send", "request", "post", "call"):
        assert action_name(ToolKind.WEBHOOK, given) == "send"
    assert ACTIONS[ToolKind.WEBHOOK] == ("send",)


def test_an_unknown_action_names_the_kinds_actions() -> None:
    assert refused(action_name, ToolKind.EMAIL, "post") == (
        "email tools have no action 'post': use send_email"
    )


# --- credentials --------------------------------------------------------------------------------


def test_a_message_tool_is_its_webhooks_url() -> None:
    assert check_credentials(ToolKind.SLACK, {"webhook_url": f" {SLACK_URL} "}) == {
        "webhook_url": SLACK_URL
    }


def test_an_unknown_field_is_refused_with_the_fields_allowed() -> None:
    assert refused(check_credentials, ToolKind.DISCORD, {"webhook_url": SLACK_URL, "x": 1}) == (
        "credentials.x is not a field here: the fields are webhook_url"
    )


@pytest.mark.parametrize("url", ["ftp://example.org/t0k", "https://", "not a url", "x" * 3000, 5])
def test_a_bad_webhook_url_is_refused_without_being_repeated(url: Any) -> None:
    message = refused(check_credentials, ToolKind.TEAMS, {"webhook_url": url})
    assert message.startswith("credentials.webhook_url")
    assert "t0k" not in message
    assert "not a url" not in message


def test_email_credentials_get_their_defaults() -> None:
    assert check_credentials(ToolKind.EMAIL, EMAIL) == {
        "host": "smtp.example.org",
        "port": 587,
        "username": None,
        "password": None,
        "sender": "Cronium <cron@example.org>",
        "tls": "starttls",
    }
    assert check_credentials(ToolKind.EMAIL, {**EMAIL, "tls": "tls"})["port"] == 465
    assert check_credentials(ToolKind.EMAIL, {**EMAIL, "tls": "none"})["port"] == 25


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"port": 0}, "credentials.port must be a number from 1 to 65535"),
        ({"port": "587"}, "credentials.port must be a number"),
        ({"port": True}, "credentials.port must be a number"),
        ({"tls": "ssl"}, "credentials.tls must be one of starttls, tls, none"),
        ({"host": "smtp example.org"}, "credentials.host must be a host name"),
        ({"sender": "nobody"}, "the address list in credentials.sender does not parse"),
        ({"sender": "a@x.org, b@x.org"}, "credentials.sender must be one address"),
        ({"username": "cron"}, "credentials.username and credentials.password go together"),
        ({"password": "pw"}, "go together"),
        ({"username": "a\nb", "password": "pw"}, "credentials.username must be one line"),
        ({"colour": "red"}, "credentials.colour is not a field here: the fields are host, port"),
    ],
)
def test_bad_email_credentials_say_which_field_and_how(change: dict[str, Any], reason: str) -> None:
    assert reason in refused(check_credentials, ToolKind.EMAIL, {**EMAIL, **change})


def test_missing_email_fields_are_named() -> None:
    assert refused(check_credentials, ToolKind.EMAIL, {"host": "h"}) == (
        "credentials.sender is required"
    )


def test_webhook_credentials_have_a_method_and_headers() -> None:
    checked = check_credentials(
        ToolKind.WEBHOOK, {"url": "https://api.example.org/hook", "method": "put"}
    )
    assert checked == {"url": "https://api.example.org/hook", "method": "PUT", "headers": {}}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"method": "HEAD"}, "credentials.method must be one of GET, POST, PUT, PATCH, DELETE"),
        ({"headers": {"X-Token": "a\r\nInjected: 1"}}, "must be one line"),
        ({"headers": {"Bad Name": "x"}}, "'Bad Name' is not a valid header name"),
        ({"headers": {"Host": "elsewhere"}}, "credentials.headers.Host is set by the request"),
        ({"headers": {f"X-{i}": "v" for i in range(51)}}, "more than 50 headers"),
        ({"headers": {"X-Long": "v" * 9000}}, "longer than 8192 characters"),
    ],
)
def test_bad_webhook_credentials_are_refused(change: dict[str, Any], reason: str) -> None:
    values = {"url": "https://api.example.org/hook", **change}
    assert reason in refused(check_credentials, ToolKind.WEBHOOK, values)


def test_what_may_be_shown_holds_no_secret() -> None:
    slack = check_credentials(ToolKind.SLACK, {"webhook_url": SLACK_URL})
    assert credentials_summary(ToolKind.SLACK, slack) == {"host": "hooks.slack.com"}
    mail = check_credentials(
        ToolKind.EMAIL, {**EMAIL, "username": "cron", "password": "hunter2-password"}
    )
    assert credentials_summary(ToolKind.EMAIL, mail) == {
        "host": "smtp.example.org",
        "port": 587,
        "username": "cron",
        "sender": "Cronium <cron@example.org>",
        "tls": "starttls",
    }
    hook = check_credentials(
        ToolKind.WEBHOOK,
        {"url": "https://api.example.org:8443/h/k?key=1", "headers": {"X-Token": "t0k3n"}},
    )
    assert credentials_summary(ToolKind.WEBHOOK, hook) == {
        "method": "POST",
        "url": "https://api.example.org:8443",
        "headers": ["X-Token"],
    }


def test_the_secrets_are_the_url_its_path_and_query_the_password_and_header_values() -> None:
    slack = check_credentials(ToolKind.SLACK, {"webhook_url": SLACK_URL})
    secrets = secret_values(ToolKind.SLACK, slack)
    assert SLACK_URL in secrets
    assert "/services/T0123/B0456/abcdefghijklmnopqrstuvwx" in secrets
    assert "abcdefghijklmnopqrstuvwx" in secrets
    assert "hooks.slack.com" not in secrets
    mail = check_credentials(ToolKind.EMAIL, {**EMAIL, "username": "u", "password": "hunter2"})
    assert secret_values(ToolKind.EMAIL, mail) == ["hunter2"]
    hook = check_credentials(
        ToolKind.WEBHOOK, {"url": "https://x.org/h?key=s3cr3t", "headers": {"A": "t0k3n"}}
    )
    assert {"/h?key=s3cr3t", "key=s3cr3t", "t0k3n"} <= set(secret_values(ToolKind.WEBHOOK, hook))


# --- params -------------------------------------------------------------------------------------


def test_slack_params_are_checked_and_kept() -> None:
    params = {"text": "{{ event.name }} failed", "channel": "#ops", "blocks": [{"type": "divider"}]}
    assert check_params(ToolKind.SLACK, "send_message", params) == params


@pytest.mark.parametrize(
    ("kind", "params", "reason"),
    [
        (ToolKind.SLACK, {"channel": "#ops"}, "a slack message needs params.text or params.blocks"),
        (ToolKind.SLACK, {"text": "x", "colour": 1}, "params.colour is not a field here"),
        (ToolKind.SLACK, {"text": "x" * 40_001}, "params.text is longer than 40000 characters"),
        (ToolKind.SLACK, {"blocks": [{}] * 51}, "params.blocks has more than 50 items"),
        (ToolKind.SLACK, {"text": "x", "icon_url": "nope"}, "params.icon_url must be an http"),
        (ToolKind.DISCORD, {"content": "x" * 2001}, "longer than 2000 characters"),
        (ToolKind.DISCORD, {"embeds": [{}] * 11}, "params.embeds has more than 10 items"),
        (ToolKind.DISCORD, {"content": "x", "tts": "yes"}, "params.tts must be true or false"),
        (ToolKind.TEAMS, {"title": "only a title"}, "a teams message needs params.text or"),
        (ToolKind.TEAMS, {"card": {"type": "Card"}}, "params.card must be an Adaptive Card"),
        (ToolKind.WEBHOOK, {"path": "a b"}, "params.path must be a URL path"),
        (ToolKind.WEBHOOK, {"query": {"a": [1]}}, "params.query.a must be a string, a number"),
        (ToolKind.WEBHOOK, {"body": "x" * 300_000}, "params are over 256 KiB as JSON"),
        (ToolKind.WEBHOOK, {"body": float("nan")}, "params must be JSON"),
        (ToolKind.WEBHOOK, "text", "params must be an object with body, headers, path, query"),
    ],
)
def test_bad_params_say_which_field_and_why(kind: ToolKind, params: Any, reason: str) -> None:
    action = ACTIONS[kind][0]
    assert reason in refused(check_params, kind, action, params)


def test_a_template_in_any_string_is_compiled_when_saved() -> None:
    params = {"text": "x", "blocks": [{"text": {"text": "{{ nope }}"}}]}
    assert refused(check_params, ToolKind.SLACK, "send_message", params).startswith(
        "the template in params.blocks[0].text.text reads 'nope', which is not defined"
    )
    assert "does not compile" in refused(
        check_params, ToolKind.DISCORD, "send_message", {"content": "{% if %}"}
    )
    assert "may not read attributes" in refused(
        check_params, ToolKind.WEBHOOK, "send", {"body": {"a": "{{ ''.__class__ }}"}}
    )


def test_rendered_params_may_be_longer_than_the_service_takes_they_are_cut() -> None:
    long = {"content": "x" * 5000}
    assert check_params(ToolKind.DISCORD, "send_message", long, rendered=True) == long


def test_an_email_needs_a_recipient_a_subject_and_a_body() -> None:
    assert "needs a recipient" in refused(
        check_params, ToolKind.EMAIL, "send_email", {"subject": "s", "body": "b"}
    )
    assert "needs params.subject" in refused(
        check_params, ToolKind.EMAIL, "send_email", {**MAIL, "subject": ""}
    )
    without_body = {"to": "a@example.org", "subject": "s"}
    assert "needs params.body (text) or params.html" in refused(
        check_params, ToolKind.EMAIL, "send_email", without_body
    )


def test_address_lists_are_parsed_into_addresses() -> None:
    params = {**MAIL, "to": "Ann <ann@example.org>, bob@example.org", "cc": ["c@example.org"]}
    checked = check_params(ToolKind.EMAIL, "send_email", params)
    assert checked["to"] == ["Ann <ann@example.org>", "bob@example.org"]
    assert checked["cc"] == ["c@example.org"]


@pytest.mark.parametrize("to", ["nobody", "a@example.org, not an address", "a@b@c.org", ["x"], 5])
def test_an_address_list_that_does_not_parse_is_refused(to: Any) -> None:
    message = refused(check_params, ToolKind.EMAIL, "send_email", {**MAIL, "to": to})
    assert "params.to" in message


def test_an_address_list_says_how_to_write_it() -> None:
    assert refused(check_params, ToolKind.EMAIL, "send_email", {**MAIL, "to": "nobody"}) == (
        "the address list in params.to does not parse: 'nobody' (write addresses like"
        " a@example.com or Name <a@example.com>, separated by commas)"
    )


def test_a_templated_address_is_checked_once_rendered() -> None:
    params = {**MAIL, "to": "{{ variables.oncall }}"}
    assert check_params(ToolKind.EMAIL, "send_email", params)["to"] == ["{{ variables.oncall }}"]
    assert "does not parse" in refused(
        check_params, ToolKind.EMAIL, "send_email", {**MAIL, "to": "{{ x"}, rendered=True
    )


def test_attachments_are_bounded_and_well_formed() -> None:
    def attach(*items: dict[str, Any]) -> str:
        params = {**MAIL, "attachments": list(items)}
        return refused(check_params, ToolKind.EMAIL, "send_email", params)

    assert "over 1024 KiB" in attach({"filename": "a.txt", "content": "x" * (1024 * 1024 + 1)})
    assert "needs content (text) or content_base64" in attach({"filename": "a.txt"})
    assert "is not base64" in attach({"filename": "a.bin", "content_base64": "not base64!"})
    assert "must be a file name" in attach({"filename": "../etc/passwd", "content": "x"})
    assert "content_type must be a type" in attach(
        {"filename": "a", "content": "x", "content_type": "text"}
    )
    big_but_allowed = {"filename": "a.txt", "content": "x" * 500_000}
    checked = check_params(ToolKind.EMAIL, "send_email", {**MAIL, "attachments": [big_but_allowed]})
    assert checked["attachments"] == [big_but_allowed]


def test_an_action_must_be_the_kinds() -> None:
    assert "use send" in refused(check_params, ToolKind.WEBHOOK, "send_message", {})


def test_a_webhook_url_with_a_user_and_password_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="user and password before its host"):
        check_credentials(ToolKind.SLACK, {"webhook_url": "https://me:pw@hooks.example.com/x"})


@pytest.mark.parametrize("value", ["caf\u00e9", " padded", "tab\there"])
def test_a_header_value_is_printable_ascii(value: str) -> None:
    with pytest.raises(InvalidInputError, match="printable ASCII"):
        check_credentials(
            ToolKind.WEBHOOK, {"url": "https://example.com/h", "headers": {"X-Key": value}}
        )
