"""The local-insecure backend with real interpreters: the parts of the contract it keeps."""

import asyncio
import os
import shutil
import time

import pytest

from cronium.domain.event import Language
from cronium.sandbox.local import LocalInsecureBackend
from cronium.sandbox.spec import OutputLine, SandboxResult
from tests.backends import missing
from tests.factories import sandbox_spec
from tests.polling import until
from tests.processes import alive


async def run(
    script: str,
    language: Language = Language.BASH,
    *,
    time_limit: float = 20,
    cap: int = 1024 * 1024,
    env: dict[str, str] | None = None,
    cancel: asyncio.Event | None = None,
) -> tuple[SandboxResult, list[OutputLine]]:
    lines: list[OutputLine] = []
    spec = sandbox_spec(
        script,
        language,
        env=env or {},
        timeout_seconds=time_limit,
        output_cap_bytes=cap,
        grace_seconds=0.5,
    )
    result = await LocalInsecureBackend().run(spec, lines.append, cancel)
    return result, lines


def texts(lines: list[OutputLine], stream: str) -> list[str]:
    return [line.text for line in lines if line.stream == stream]


@pytest.mark.parametrize("code", [0, 1, 42])
async def test_exit_codes_propagate(code: int) -> None:
    result, _ = await run(f"exit {code}")
    assert result.exit_code == code
    assert not result.timed_out


async def test_stdout_and_stderr_are_kept_apart() -> None:
    _, lines = await run("echo out; echo err >&2; echo out2")
    assert texts(lines, "stdout") == ["out", "out2"]
    assert texts(lines, "stderr") == ["err"]


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (Language.PYTHON, "import sys\nprint('py', sys.version_info[0])\nsys.exit(3)"),
        (Language.NODE, "console.log('js', 1 + 1); process.exit(3)"),
    ],
)
async def test_python_and_node_scripts_run(language: Language, script: str) -> None:
    if shutil.which({Language.PYTHON: "python3", Language.NODE: "node"}[language]) is None:
        missing(f"the {language} interpreter is not installed")
    result, lines = await run(script, language)
    assert result.exit_code == 3
    assert texts(lines, "stdout") in (["py 3"], ["js 2"])


async def test_the_environment_is_only_what_the_event_declares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKER_SECRET", "do-not-leak")
    _, lines = await run("env", env={"GREETING": "hi"})
    names = {line.split("=", 1)[0] for line in texts(lines, "stdout")}
    assert "WORKER_SECRET" not in names
    assert {"GREETING", "CRONIUM_EXECUTION_ID", "PATH"} <= names
    assert "GREETING=hi" in texts(lines, "stdout")


async def test_stdin_is_closed() -> None:
    _, lines = await run("if read -r line; then echo got; else echo eof; fi")
    assert texts(lines, "stdout") == ["eof"]


async def test_a_script_past_its_timeout_ends_timed_out_even_if_it_ignores_sigterm() -> None:
    started = time.monotonic()
    result, lines = await run("trap '' TERM; echo started; sleep 30", time_limit=1)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert texts(lines, "stdout") == ["started"]
    assert elapsed < 1 + 0.5 + 1  # timeout + grace + 1 s


async def test_cancelling_ends_the_run_and_its_children() -> None:
    cancel = asyncio.Event()
    marker = f"/tmp/cronium-test-child-{os.getpid()}"
    script = f"(sleep 30; touch {marker}) & echo $! ; sleep 30"
    asyncio.get_running_loop().call_later(0.5, cancel.set)
    result, lines = await run(script, cancel=cancel)
    assert result.cancelled
    child = int(texts(lines, "stdout")[0])
    await until(lambda: not alive(child), 5, "the script's child ending")


async def test_a_background_process_left_by_the_script_is_removed() -> None:
    result, lines = await run("sleep 60 & echo $!")
    assert result.exit_code == 0
    left = int(texts(lines, "stdout")[0])
    await until(lambda: not alive(left), 5, "the background process ending")


async def test_endless_output_is_capped_with_a_marker() -> None:
    result, lines = await run("yes cronium | head -c 5000000", cap=10_000)
    out = texts(lines, "stdout")
    assert result.stdout_truncated
    assert "exceeded 10000 bytes" in out[-1]
    assert sum(len(t) + 1 for t in out[:-1]) <= 10_000


async def test_a_missing_interpreter_is_a_sandbox_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cronium.sandbox.local.INTERPRETERS", {Language.BASH: "no-such-shell"})
    from cronium.errors import SandboxError

    with pytest.raises(SandboxError, match="no-such-shell is not installed"):
        await run("true")
