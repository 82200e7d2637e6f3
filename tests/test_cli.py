"""``sales-mock serve``: bad options and bad fixtures are one-line errors with exit code 2; it serves."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mock_server.app import create_app
from mock_server.cli import build_parser, main
from mock_server.config import MockConfig


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serve", "--port", "x"],
        ["serve", "--port", "70000"],
        ["serve", "--clock", "yesterday"],
        ["serve", "--clock", "0000-01-01T00:00:00Z"],
        ["serve", "--clock", "9900-01-01T00:00:00Z"],
        ["serve", "--read-timeout", "0"],
        ["serve", "--read-timeout", "soon"],
        ["serve", "--log-level", "loud"],
        ["serve", "--bogus"],
        ["serve", "--journal-size", "0"],
        ["serve", "--journal-size", "lots"],
        ["frobnicate"],
    ],
)
def test_bad_options_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_bad_fixture_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities: [")
    assert main(["serve", "--fixtures", str(bad)]) == 2
    assert main(["serve", "--fixtures", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("sales-mock: error:") for line in err)


def test_a_bad_cors_origin_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--cors-origin", "localhost:5173"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--cors-origin" in err


@pytest.mark.parametrize("extra", [[], ["--host", "localhost"]])
def test_any_allowed_host_without_a_token_exits_2(
    extra: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--allowed-host '*'`` lets any Host (a DNS-rebinding page) reach the admin API: only with a token."""
    monkeypatch.setattr("mock_server.cli._serve", lambda _app, _config: 0)  # started after all: 0, not 2 (no hang)
    assert main(["serve", "--fixtures", "empty", "--allowed-host", "mock", "--allowed-host", "*", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allowed-host '*'" in err and "--admin-token" in err
    app = create_app(MockConfig(fixtures="empty", allowed_hosts=("*",), admin_token="secret"))
    assert app.state.runtime.control.token == "secret"


def test_browser_options_reach_the_config() -> None:
    args = build_parser().parse_args(
        ["serve", "--allowed-host", "mock", "--allowed-host", "ci.internal", "--cors-origin", "http://localhost:3000"]
    )
    assert args.allowed_host == ["mock", "ci.internal"] and args.cors_origin == ["http://localhost:3000"]
    assert build_parser().parse_args(["serve", "--journal-size", "50000"]).journal_size == 50000
    assert build_parser().parse_args(["serve", "--read-timeout", "2.5"]).read_timeout == 2.5


def test_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.fixtures, args.clock, args.log_level) == (
        "127.0.0.1",
        4010,
        "demo",
        "now",
        "info",
    )


def test_a_busy_port_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--fixtures", "empty"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"sales-mock: error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "--port 0 picks a free one" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.live
def test_serves_and_exits_0_on_ctrl_c() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port), "--clock", "2025-03-01T00:00:00Z"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # start-up time is a benchmark figure, not asserted here
        assert f"http://127.0.0.1:{port}" in line, line
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/sales/customers",
            params={"entityId": "497f6eca-6276-4993-bfeb-53cbbbba6f08"},
            headers={"Authorization": "Bearer ak_demo_readonly"},
        )
        assert answer.status_code == 200 and answer.json()["data"]
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    assert code == 0


def test_spec_prints_the_packaged_contract(capsys: pytest.CaptureFixture[str]) -> None:
    from control_plane_client import client, make_app

    from mock_server import resources

    assert main(["spec"]) == 0
    assert capsys.readouterr().out == resources.spec_path().read_text(encoding="utf-8")
    assert main(["spec", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == client(make_app()).get("/openapi.json").json()  # what the running mock serves


def test_spec_from_the_installed_command() -> None:
    """The console script, as a generator would call it: `sales-mock spec --format json > sales.json`."""
    command = [str(Path(sys.executable).parent / "sales-mock"), "spec", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.1") and "/api/sales/quotes" in document["paths"]
