"""The state file with a real ``sales-mock serve`` process: SIGTERM saves, a restart restores, bad files stop it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from control_plane_client import comparable_state
from livemock import start_mock

from contract_tests.process import stop

pytestmark = [pytest.mark.live, pytest.mark.slow]

CLOCK = "2025-03-01T00:00:00Z"


def _start(state_file: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    return start_mock(
        "--fixtures", "empty", "--clock", CLOCK, "--log-level", "warning", "--state-file", str(state_file), *extra
    )


def _call(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def _stop(process: subprocess.Popen[str]) -> int:
    return stop(process, timeout=20, hung_is_error=True).returncode


def test_restart_after_sigterm_gives_identical_state(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    process, url = _start(state_file)
    try:
        created = _call("POST", f"{url}/__admin/entities", {"name": "Persisted", "fixtures": "demo"})
        entity = created["entityId"]
        _call("POST", f"{url}/__admin/entities/{entity}/customers", {"name": "Acme", "currency": "USD"})
        _call("POST", f"{url}/__admin/entities/{entity}/clock/advance", {"days": 10})
        before = _call("GET", f"{url}/__admin/state")
    finally:
        code = _stop(process)
    assert code == 0  # a graceful shutdown: state saved, exit code 0
    assert comparable_state(json.loads(state_file.read_text())) == comparable_state(before)
    process, url = _start(state_file)
    try:
        after = _call("GET", f"{url}/__admin/state")
        assert _call("GET", f"{url}/__admin/entities/{entity}/clock")["now"] == "2025-03-11T00:00:00Z"
    finally:
        _stop(process)
    assert comparable_state(after) == comparable_state(before)


def test_a_corrupt_state_file_stops_the_server_and_is_kept(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text('{"version": 1, "entities": [')
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--state-file", str(state_file)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "state file" in lines[0] and "not valid JSON" in lines[0]
    assert state_file.read_text() == '{"version": 1, "entities": ['


def test_non_loopback_without_token_refuses_to_start() -> None:
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--host", "0.0.0.0", "--port", "0"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--admin-token" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_failed_final_save_exits_non_zero(tmp_path: Path) -> None:
    """The save at SIGTERM cannot land (the state file's path has become a directory, as good as a full
    disk for a rename): the server says so on stderr and exits 1, leaving no temporary file."""
    state_file = tmp_path / "state.json"
    process, url = _start(state_file)
    try:
        _call("POST", f"{url}/__admin/entities", {"name": "Unsaved"})
        state_file.mkdir()
    finally:
        result = stop(process, timeout=20, hung_is_error=True)
    assert result.returncode == 1
    assert "could not write state file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"] and not any(state_file.iterdir())
