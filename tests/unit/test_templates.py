"""Message templates: checked when saved, rendered in Jinja2's sandbox within bounds."""

from __future__ import annotations

from typing import Any

import pytest

from cronium.errors import InvalidInputError
from cronium.templates import TEMPLATE_NAMES, check_template, render_params

CONTEXT: dict[str, Any] = {
    "event": {"id": 7, "name": "backup", "kind": "script"},
    "execution": {"id": 42, "status": "failed", "exit_code": 2, "duration_seconds": 1.5},
    "log": {"lines": ["starting", "disk full"], "tail": "starting\ndisk full"},
    "variables": {"team": "ops"},
    "input": {"date": "2024-05-01"},
}


def rendered(text: str) -> str:
    result: str = render_params({"text": text}, CONTEXT)["text"]
    return result


def refusal(text: str) -> str:
    with pytest.raises(InvalidInputError) as caught:
        rendered(text)
    return caught.value.message


def test_the_names_a_template_may_read() -> None:
    assert TEMPLATE_NAMES == ("event", "execution", "log", "variables", "input")


def test_every_string_in_the_params_is_rendered_however_deep() -> None:
    params = {
        "text": "{{ event.name }} {{ execution.status }} (exit {{ execution.exit_code }})",
        "blocks": [{"text": {"text": "{% for line in log.lines %}[{{ line }}]{% endfor %}"}}],
        "count": 3,
        "flag": True,
    }
    assert render_params(params, CONTEXT) == {
        "text": "backup failed (exit 2)",
        "blocks": [{"text": {"text": "[starting][disk full]"}}],
        "count": 3,
        "flag": True,
    }


def test_a_string_without_a_template_is_left_as_it_is() -> None:
    assert rendered("100% done {not a template} {# nor this #}") == (
        "100% done {not a template} {# nor this #}"
    )


def test_filters_and_the_log_tail_render_as_jinja_does() -> None:
    assert rendered("{{ log.tail | upper }}") == "STARTING\nDISK FULL"
    assert rendered("{{ variables.team ~ '-' ~ input.date }}") == "ops-2024-05-01"
    assert rendered("{{ '%.1f' | format(execution.duration_seconds) }}") == "1.5"


def test_a_syntax_error_is_refused_with_its_line() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_template("{{ event.name }", "params.text")
    assert caught.value.message == (
        "the template in params.text does not compile: line 1: unexpected '}'"
    )


def test_a_name_that_is_not_given_is_refused_when_saved() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_template("{{ foo.bar }}", "params.text")
    assert caught.value.message == (
        "the template in params.text reads 'foo', which is not defined: the names are event,"
        " execution, log, variables, input"
    )


def test_names_set_in_the_template_are_its_own() -> None:
    check_template("{% set n = log.lines | length %}{{ n }}", "params.text")
    check_template("{% for line in log.lines %}{{ loop.index }}{{ line }}{% endfor %}", "x")


def test_an_undefined_attribute_fails_the_rendering_naming_the_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        render_params({"blocks": [{"text": "{{ event.owner }}"}]}, CONTEXT)
    assert caught.value.message == (
        "the template in params.blocks[0].text cannot render: 'dict object' has no attribute"
        " 'owner'"
    )


@pytest.mark.parametrize(
    "text", ["{{ ''.__class__ }}", "{{ event['__class__'] }}", "{{ event._private }}"]
)
def test_a_private_attribute_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="may not read attributes whose name starts"):
        check_template(text, "params.text")
    assert "may not read" in refusal(text)


@pytest.mark.parametrize(
    "text",
    ['{% include "x" %}', '{% extends "x" %}', '{% import "x" as x %}', '{% from "x" import y %}'],
)
def test_a_template_may_not_include_or_import_another(text: str) -> None:
    with pytest.raises(InvalidInputError, match="includes or imports another"):
        check_template(text, "params.text")


def test_the_sandbox_refuses_what_it_finds_unsafe_at_render_time() -> None:
    assert "is not allowed" in refusal("{{ ''|attr('__class__') }}")
    assert "is not allowed" in refusal("{{ log.lines.append('x') }}")


def test_an_error_of_the_template_itself_is_its_own() -> None:
    assert refusal("{{ 1 / 0 }}") == (
        "the template in params.text cannot render: ZeroDivisionError: division by zero"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ 'x' * 1000000000 }}", "* would make more than 256 KiB"),
        ("{{ 2 ** 100000000 }}", "a number too large"),
        ("{{ 'x' | center(1000000000) }}", "center is given a number over 10000"),
        ("{{ 'x'.ljust(1000000000) }}", "ljust is given a number over 10000"),
        ("{{ '%999999999s' | format('x') }}", "a format width over 10000"),
        ("{{ '%999999999s' % 'x' }}", "a format width over 10000"),
        ("{{ '{:>999999999}'.format(1) }}", "a format width over 10000"),
        ("{% set s = 'x' * 200000 %}{{ s ~ s }}", "~ would make more than 256 KiB"),
        ("{% set s = 'x' * 200000 %}{{ s | replace('x', 'yy') }}", "replace would make"),
        ("{% set s = 'x' * 200000 %}{{ [s, s] | join }}", "join would make"),
        ("{{ range(1000000) | list }}", "a range of more than 10000 numbers"),
        (
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
            "more than 10000 loop iterations and calls",
        ),
        (
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(40) }}",
            "more than 10000 loop iterations and calls",
        ),
        (
            "{% set s = 'x' * 200000 %}{% set t %}{% for i in range(10) %}{{ s }}{% endfor %}"
            "{% endset %}done",
            "writes more than 1024 KiB in all",
        ),
        ("{% for i in range(3000) %}{{ 'x' * 100 }}{% endfor %}", "renders to more than 256 KiB"),
    ],
)
def test_rendering_is_bounded(text: str, reason: str) -> None:
    message = refusal(text)
    assert message.startswith("the template in params.text goes over a limit: ")
    assert reason in message


def test_a_bounded_template_within_its_limits_renders() -> None:
    text = "{% for i in range(100) %}{{ i }},{% endfor %}{{ 'ab' * 10 }}{{ 'x' | center(9) }}"
    assert rendered(text).endswith("99,abababababababababab    x    ")
    assert len(rendered("{% for i in range(9000) %}{{ i % 10 }}{% endfor %}")) == 9000
