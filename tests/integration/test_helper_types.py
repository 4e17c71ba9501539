"""The helpers of Bash, Python and Node agree on every JSON value, from real scripts in real
sandboxes: a value one language sets (a variable, an output) reads back in every language as
the same value of the same type, and the Bash helpers refuse malformed JSON."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from cronium.domain.event import Language
from cronium.domain.execution import ExecutionStatus
from tests.integration import test_runtime
from tests.integration.test_runtime import Done, Harness

harness = test_runtime.harness  # the fixture: a worker and its runtime API, per database

NESTED = {
    "list": [1, "two", None, True, False, {"deep": {"deeper": [[], {}]}}],
    "text": '{"not": "an object"}',
    "number": -0.5,
    "unicode": "ключ",
}

# Every kind of JSON value, under the name of the variable that holds it.
VALUES: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "zero": 0,
    "negative": -7,
    "integer": 2**53,
    "fraction": 3.25,
    "small": 1.5e-7,
    "large": 1.5e300,
    "empty": "",
    "text": "plain text",
    "text_true": "true",
    "text_false": "false",
    "text_null": "null",
    "text_number": "42",
    "text_object": "{}",
    "text_array": "[1, 2]",
    "text_json": '{"a": 1}',
    "unicode": "été 😀 中文",
    "escapes": 'quote " backslash \\ newline \n tab \t end',
    "object": {},
    "array": [],
    "nested": NESTED,
}

# What a run outputs, one value per run (the last output wins): the values a helper could
# take for "nothing" (false, null, 0, ""), strings that look like JSON, and one nested value.
OUTPUTS = [False, None, 0, "", "false", "{}", NESTED]

# Each run reads its input and outputs it again, in an order that hands a value from each
# language to each other one once.
RELAY = [
    Language.PYTHON,
    Language.NODE,
    Language.BASH,
    Language.NODE,
    Language.PYTHON,
    Language.BASH,
]

FAIL_NODE = ".catch((error) => { console.error(error.message); process.exit(1); });"


def typed(value: Any) -> Any:
    """``value`` with the type of each scalar beside it, so that comparing two of them tells
    True from 1 and "1" from 1 (Python's == does not). Numbers compare as the doubles every
    language reads (PostgreSQL keeps them as decimals: 1.5e300 reads back as an int there)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("number", float(value))
    return (type(value).__name__, value)


def printed(done: Done) -> dict[str, Any]:
    """The ``KEY JSON`` lines a reader printed, as values by key."""
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    assert not done.stderr, done.stderr
    pairs = (line.split(" ", 1) for line in done.stdout)
    return {key: json.loads(text) for key, text in pairs}


# Scripts that set variables, one language each.


def bash_value(value: Any) -> tuple[str, str]:
    """How a Bash script passes ``value`` to a helper: the option (``-s`` for a string, taken as
    it is) and the VALUE argument (a string's text, anything else's JSON), quoted."""
    if isinstance(value, str):
        return "-s ", shlex.quote(value)
    return "", shlex.quote(json.dumps(value, ensure_ascii=False))


def set_in_bash(values: Mapping[str, Any]) -> str:
    lines = ["set -e"]
    for key, value in values.items():
        option, argument = bash_value(value)
        lines.append(f"cronium_set_variable {option}{key} {argument}")
    return "\n".join(lines)


def set_in_python(values: Mapping[str, Any]) -> str:
    return (
        "import cronium\n"
        f"for key, value in {dict(values)!r}.items():\n"
        "    cronium.set_variable(key, value)\n"
    )


def set_in_node(values: Mapping[str, Any]) -> str:
    return (
        "const cronium = require('cronium');\n"
        "(async () => {\n"
        f"  for (const [key, value] of Object.entries({json.dumps(values)})) {{\n"
        "    await cronium.setVariable(key, value);\n"
        "  }\n"
        f"}})(){FAIL_NODE}\n"
    )


# Scripts that print variables as KEY JSON lines, one language each.


def get_in_bash(keys: Sequence[str]) -> str:
    return (
        f"for key in {' '.join(keys)}; do\n"
        '    value=$(cronium_get_variable --json "$key") || echo "status $? for $key"\n'
        '    echo "$key $value"\n'
        "done\n"
    )


def get_in_python(keys: Sequence[str]) -> str:
    return (
        "import json, cronium\n"
        f"for key in {list(keys)!r}:\n"
        "    print(key, json.dumps(cronium.get_variable(key, '<not set>')))\n"
    )


def get_in_node(keys: Sequence[str]) -> str:
    return (
        "const cronium = require('cronium');\n"
        "(async () => {\n"
        f"  for (const key of {json.dumps(list(keys))}) {{\n"
        "    console.log(key, JSON.stringify(await cronium.getVariable(key, '<not set>')));\n"
        "  }\n"
        f"}})(){FAIL_NODE}\n"
    )


SET_VARIABLES: dict[Language, Callable[[Mapping[str, Any]], str]] = {
    Language.BASH: set_in_bash,
    Language.PYTHON: set_in_python,
    Language.NODE: set_in_node,
}
GET_VARIABLES: dict[Language, Callable[[Sequence[str]], str]] = {
    Language.BASH: get_in_bash,
    Language.PYTHON: get_in_python,
    Language.NODE: get_in_node,
}

# Scripts that print their input as an ``input JSON`` line and output it again.
RELAY_SCRIPTS = {
    Language.BASH: 'data=$(cronium_input)\necho "input $data"\nprintf %s "$data" | cronium_output',
    Language.PYTHON: (
        "import json, cronium\n"
        "data = cronium.input()\n"
        "print('input', json.dumps(data))\n"
        "cronium.output(data)\n"
    ),
    Language.NODE: (
        "const cronium = require('cronium');\n"
        "(async () => {\n"
        "  const data = await cronium.input();\n"
        "  console.log('input', JSON.stringify(data));\n"
        "  await cronium.output(data);\n"
        f"}})(){FAIL_NODE}\n"
    ),
}


@pytest.mark.parametrize("writer", list(Language))
async def test_variables_read_back_as_the_same_values_in_every_language(
    harness: Harness, writer: Language
) -> None:
    values = {f"{writer.value}_{name}": value for name, value in VALUES.items()}
    written = await harness.run(writer, SET_VARIABLES[writer](values))
    assert written.execution.status is ExecutionStatus.SUCCEEDED, written.stderr
    for key, value in values.items():
        found, stored = await harness.store.variables.get(harness.user.id, key)
        assert found, key
        assert typed(stored) == typed(value), key
    for reader in Language:
        done = await harness.run(reader, GET_VARIABLES[reader](list(values)))
        assert typed(printed(done)) == typed(values), f"{writer} -> {reader}"


@pytest.mark.parametrize("value", OUTPUTS, ids=[json.dumps(value)[:16] for value in OUTPUTS])
async def test_outputs_read_back_as_the_same_values_in_every_language(
    harness: Harness, value: Any
) -> None:
    option, argument = bash_value(value)
    first = await harness.run(Language.BASH, f"cronium_output {option}{argument}")
    assert first.execution.status is ExecutionStatus.SUCCEEDED, first.stderr
    assert typed(first.execution.output) == typed(value)
    handed, writer = first.execution.output, Language.BASH
    for reader in RELAY:
        done = await harness.run(reader, RELAY_SCRIPTS[reader], input=handed)
        assert typed(printed(done)) == typed({"input": value}), f"{writer} -> {reader}"
        assert typed(done.execution.output) == typed(value), f"{reader}'s output"
        handed, writer = done.execution.output, reader


BASH_FORMS = """
set -e
cronium_set_variable word hello
cronium_set_variable date 2024-05-01
cronium_set_variable sentence 'two words'
cronium_set_variable quoted '"false"'
cronium_set_variable spaced ' 42 '
cronium_set_variable -s flag false
cronium_set_variable --string unfinished '{"a": 1'
cronium_set_variable pretty '{
  "a": [1, 2.50, -0.0, 1E3]
}'
cronium_set_variable big 9007199254740993
for key in flag big; do cronium_get_variable $key; done
cronium_get_variable pretty | jq -e '.a[0] == 1'
cronium_get_variable --json flag
printf '%s' '{"a": 1' | cronium_output -s
"""


async def test_bash_values_are_json_and_any_other_text_is_a_string(harness: Harness) -> None:
    done = await harness.run(Language.BASH, BASH_FORMS)
    assert done.execution.status is ExecutionStatus.SUCCEEDED, done.stderr
    stored = {
        key: value for key, value in (await harness.store.variables.all(harness.user.id)).items()
    }
    assert typed(stored) == typed(
        {
            "word": "hello",
            "date": "2024-05-01",
            "sentence": "two words",
            "quoted": "false",
            "spaced": 42,
            "flag": "false",
            "unfinished": '{"a": 1',
            "pretty": {"a": [1, 2.5, -0.0, 1000.0]},
            "big": 9007199254740993,
        }
    )
    # reads print a string as its text and anything else as JSON as stored (exact numbers);
    # --json prints a string's JSON too
    assert done.stdout == ["false", "9007199254740993", "true", '"false"']
    assert done.execution.output == '{"a": 1'


BASH_REFUSALS = """
cronium_set_variable kept 1
cronium_set_variable kept '{"a": 1'; echo "unfinished: $?"
cronium_output '{"a": 1'; echo "output: $?"
cronium_set_variable kept '[1, NaN]'; echo "nan: $?"
cronium_set_variable kept '{"zip": 0123}'; echo "leading zero: $?"
cronium_set_variable kept '"open'; echo "open string: $?"
cronium_set_variable kept 1e400; echo "out of range: $?"
cronium_set_variable kept {"a": 1}; echo "unquoted: $?"
cronium_get_variable kept
"""
NOT_STORED = (
    "nothing was stored. Fix the JSON, or pass -s to store the text as a string:"
    " cronium_set_variable -s KEY VALUE"
)
NOT_OUTPUT = (
    "nothing was output. Fix the JSON, or pass -s to output the text as a string:"
    " cronium_output -s VALUE"
)
NUMBERS = "numbers are written as 12, -0.5 or 1e3"


async def test_bash_refuses_malformed_json_and_stores_nothing(harness: Harness) -> None:
    done = await harness.run(Language.BASH, BASH_REFUSALS)
    assert done.stdout == [
        "unfinished: 2",
        "output: 2",
        "nan: 2",
        "leading zero: 2",
        "open string: 2",
        "out of range: 3",
        "unquoted: 2",
        "1",
    ]
    set_variable, output = "cronium: cronium_set_variable:", "cronium: cronium_output:"
    unfinished = "the value is not valid JSON (Unfinished JSON term at EOF at line 1, column 7);"
    assert done.stderr == [
        f"{set_variable} {unfinished} {NOT_STORED}",
        f"{output} {unfinished} {NOT_OUTPUT}",
        f"{set_variable} the value is not valid JSON (NaN is not a JSON value: {NUMBERS});"
        f" {NOT_STORED}",
        f"{set_variable} the value is not valid JSON (0123 is not a JSON value: {NUMBERS});"
        f" {NOT_STORED}",
        f"{set_variable} the value is not valid JSON (Unfinished string at EOF at line 1,"
        f" column 5); {NOT_STORED}",
        "cronium: the request body is not valid JSON: the number 1e400 is too large: no double"
        " holds it (HTTP 422)",
        "cronium: cronium_set_variable takes [-s|--string] KEY VALUE, not 3 argument(s): quote"
        " a VALUE that has spaces",
    ]
    assert done.execution.output is None
    assert await harness.store.variables.get(harness.user.id, "kept") == (True, 1)


REFUSE_NAN = {
    Language.PYTHON: """
import cronium
for value in (float("nan"), {"a": [float("inf")]}):
    try:
        cronium.set_variable("kept", value)
    except cronium.CroniumError as error:
        print(error)
""",
    Language.NODE: f"""
const cronium = require('cronium');
(async () => {{
  for (const value of [NaN, {{ a: [Infinity] }}]) {{
    await cronium.setVariable('kept', value).catch((error) => console.log(error.message));
  }}
}})(){FAIL_NODE}
""",
}


@pytest.mark.parametrize("language", list(REFUSE_NAN))
async def test_python_and_node_refuse_nan_and_infinities_alike(
    harness: Harness, language: Language
) -> None:
    done = await harness.run(language, REFUSE_NAN[language])
    none = "None" if language is Language.PYTHON else "null"
    refusal = (
        "the value cannot be stored as JSON: NaN and infinities are not JSON numbers"
        f" (store {none}, or the number as a string)"
    )
    assert done.stdout == [refusal, refusal], done.stderr
    assert await harness.store.variables.get(harness.user.id, "kept") == (False, None)
