"""A fuzz campaign shows what is running: the round keeps its progress in a file, the campaign shows it
as a live line on a terminal and as periodic lines in a log."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from contract_tests import cli
from contract_tests.campaign import progress
from contract_tests.cli import fuzz


class _Item:
    """What the plugin reads of a pytest item."""

    def __init__(self, name: str, operations: tuple[str, ...] = ()) -> None:
        self.originalname = name
        self.name = f"{name}[x]"
        self.operations = operations

    def get_closest_marker(self, name: str) -> Any:
        return type("Mark", (), {"args": self.operations})() if self.operations and name == "sales_ops" else None


class _Schema:
    def __init__(self) -> None:
        self.hooks: dict[str, Any] = {}

    def hook(self, name: str) -> Any:
        return lambda function: self.hooks.setdefault(name, function)


def _case(operation_id: str) -> Any:
    definition = type("Definition", (), {"raw": {"operationId": operation_id}})()
    operation = type("Operation", (), {"definition": definition, "label": "GET /x"})()
    return type("Case", (), {"operation": operation})()


def test_the_round_keeps_the_running_test_and_the_examples_per_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "WRITE_EVERY", 0.0)
    path = tmp_path / "progress.json"
    plugin = progress.Progress(path)
    plugin.pytest_runtest_setup(_Item("test_trial", ("createSubscription", "getSubscription")))  # type: ignore[arg-type]
    assert progress.read(path) == {
        "test": "test_trial",
        "operation": "createSubscription,getSubscription",
        "operationExamples": 0,
        "examples": 0,
    }
    plugin.pytest_runtest_setup(_Item("test_conformance"))  # type: ignore[arg-type]
    schema = _Schema()
    config = type("Config", (), {"stash": {progress.PROGRESS_KEY: plugin}})()
    progress.watch(schema, config)  # type: ignore[arg-type]
    for operation in ("listQuotes", "createQuote", "createQuote"):
        schema.hooks["after_call"](None, _case(operation), None)
    state = progress.read(path)
    assert state == {"test": "test_conformance", "operation": "createQuote", "operationExamples": 2, "examples": 3}
    assert progress.describe(state, before=1000) == "test_conformance createQuote (2 examples), 1,003 examples in all"
    assert progress.describe(None, before=1) == "starting the round, 1 example in all"
    assert not list(tmp_path.glob("*.part"))  # written whole, then renamed


def test_writes_are_spaced_but_a_new_test_and_the_end_are_written_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress.time, "monotonic", lambda: 100.0)  # the clock stands still
    path = tmp_path / "progress.json"
    plugin = progress.Progress(path)
    plugin.pytest_runtest_setup(_Item("test_conformance"))  # type: ignore[arg-type]
    for _ in range(50):
        plugin.example("getQuote")
    assert json.loads(path.read_text())["examples"] == 0  # not one write per example
    plugin.pytest_runtest_setup(_Item("test_stateful_links"))  # type: ignore[arg-type]
    assert json.loads(path.read_text())["test"] == "test_stateful_links"
    plugin.example("getQuote")
    plugin.pytest_sessionfinish()
    assert json.loads(path.read_text())["examples"] == 51


def test_without_the_option_nothing_is_counted() -> None:
    schema = _Schema()
    progress.watch(schema, type("Config", (), {"stash": {}})())  # type: ignore[arg-type]
    assert schema.hooks == {}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_is_one_line_rewritten_in_place() -> None:
    terminal = _Terminal()
    display = progress.Display(terminal, every=10.0)
    assert display.live and display.every == progress.LIVE_EVERY
    display.progress("12s left: test_conformance getQuote (3 examples)")
    display.progress("11s left: test_conformance getQuote (9 examples)")
    display.line("  round 1 ended (clean)")
    assert terminal.getvalue() == (
        "\r\x1b[K12s left: test_conformance getQuote (3 examples)"
        "\r\x1b[K11s left: test_conformance getQuote (9 examples)"
        "\r\x1b[K  round 1 ended (clean)\n"
    )
    log = io.StringIO()
    periodic = progress.Display(log, every=10.0)
    periodic.progress("12s left: test_trial")
    periodic.line("  round 1 ended (clean)")
    assert not periodic.live and periodic.every == 10.0
    assert log.getvalue() == "    12s left: test_trial\n  round 1 ended (clean)\n"


def test_a_short_campaign_against_the_mock_shows_what_is_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A few seconds of ``fuzz`` in a log (not a terminal): lines naming the running test and the examples so far."""
    monkeypatch.setattr(fuzz, "PROGRESS_EVERY", 0.5)
    argv = ["fuzz", "--target", "mock", "--duration", "6s", "--operations", "listQuotes", "--max-examples", "5"]
    assert cli.main([*argv, "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = re.findall(r"^ {4} *\d+s left: (.*), ([\d,]+) examples? in all, 0 failure\(s\)$", out, re.M)
    assert lines, out
    assert all(doing == "starting the round" or re.match(r"test_\w+", doing) for doing, _ in lines), lines
    counts = [int(count.replace(",", "")) for _, count in lines]
    assert counts == sorted(counts)  # examples so far only grow
    ended = re.search(r"^  round 1 ended \(clean\); ([\d,]+) examples? in all", out, re.M)
    assert ended and int(ended.group(1).replace(",", "")) >= counts[-1], out
    assert "test(s) done" not in out and not (tmp_path / "progress.json").exists()
