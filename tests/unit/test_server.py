"""The server processes' pure pieces (server.py)."""

from cronium.server import url_of


def test_the_listening_line_names_the_url() -> None:
    assert url_of(("127.0.0.1", 8080)) == "http://127.0.0.1:8080"
    assert url_of(("::1", 8080, 0, 0)) == "http://[::1]:8080"
    assert url_of("/run/cronium.sock") == "unix:/run/cronium.sock"
