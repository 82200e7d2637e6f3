"""``sales-mock wait``: ready on a 2xx/3xx answer, exit 1 with one line after the timeout, 2 for a bad URL."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from livemock import answering

from mock_server.cli import main
from mock_server.wait import probe_url


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    with answering(getattr(request, "param", 200)) as url:
        yield url


def test_probe_url() -> None:
    assert probe_url("http://127.0.0.1:4010") == "http://127.0.0.1:4010/openapi.json"
    assert probe_url("http://127.0.0.1:4010/") == "http://127.0.0.1:4010/openapi.json"
    assert probe_url("http://h:1/__admin/health") == "http://h:1/__admin/health"
    for bad in ("127.0.0.1:4010", "ftp://h/x", "http://"):
        with pytest.raises(ValueError, match="invalid URL"):
            probe_url(bad)


def test_ready(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wait", server, "--timeout", "5"]) == 0
    assert capsys.readouterr().out.startswith(f"sales-mock: {server}/openapi.json is ready (HTTP 200 after ")


@pytest.mark.parametrize("server", [503], indirect=True)
def test_an_error_status_is_not_ready(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wait", f"{server}/health", "--timeout", "0.5", "--interval", "0.1"]) == 1
    err = capsys.readouterr().err
    assert err == f"sales-mock: {server}/health not ready after 0.5s (last attempt: HTTP 503)\n"


def test_nothing_listening_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["wait", f"http://127.0.0.1:{port}", "--timeout", "0.3", "--interval", "0.1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not ready after 0.3s (last attempt: " in err


@pytest.mark.parametrize("argv", [["wait", "localhost:4010"], ["wait", "--timeout", "0"], ["wait", "--timeout", "x"]])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as raised:
        code = int(raised.code or 0)
    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1
