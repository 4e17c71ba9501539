"""The server commands' pure pieces (cli/server.py)."""

from cronium.cli.server import quieted


def test_quiet_logs_warnings_and_errors_only() -> None:
    assert quieted("info", quiet=True) == "warning"
    assert quieted("debug", quiet=True) == "warning"
    assert quieted("error", quiet=True) == "error"


def test_without_quiet_the_level_stays() -> None:
    assert quieted("debug", quiet=False) == "debug"
