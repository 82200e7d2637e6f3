"""What a fuzz campaign is doing right now: the running test, the operation of the latest generated
example, and the examples so far.

A round (a ``check`` child process of ``sales-contract fuzz``) keeps :class:`Progress`, a pytest
plugin that rewrites a small JSON file as it goes (``--sales-progress PATH``; at most every
:data:`WRITE_EVERY` seconds, atomically, so the campaign never reads half a file). The campaign
reads it with :func:`read` and shows :func:`describe` through :class:`Display`: one line rewritten
in place on a terminal, a line every so often in a log.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import pytest

from contract_tests.campaign import run_config

WRITE_EVERY = 0.5
"""Seconds between two writes of the progress file (a test that starts is written at once)."""
LIVE_EVERY = 0.5
"""Seconds between two updates of the live line on a terminal."""
PROGRESS_KEY = pytest.StashKey["Progress"]()


class Progress:
    """The round's side: a pytest plugin that counts generated examples per operation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.test: str | None = None
        self.operation: str | None = None
        self.examples = 0
        self.by_operation: Counter[str] = Counter()
        self.written = float("-inf")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.test = str(getattr(item, "originalname", None) or item.name)
        marker = item.get_closest_marker("sales_ops")
        self.operation = ",".join(marker.args) if marker else None
        self.write(force=True)

    def pytest_sessionfinish(self) -> None:
        self.write(force=True)

    def example(self, operation: str) -> None:
        """One generated request was sent (and answered) for ``operation``."""
        self.examples += 1
        self.by_operation[operation] += 1
        self.operation = operation
        self.write()

    def write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.written < WRITE_EVERY:
            return
        self.written = now
        state = {
            "test": self.test,
            "operation": self.operation,
            "operationExamples": self.by_operation.get(self.operation or "", 0),
            "examples": self.examples,
        }
        partial = self.path.with_name(self.path.name + ".part")
        try:
            partial.write_text(json.dumps(state))
            os.replace(partial, self.path)
        except OSError:
            pass  # progress is a courtesy: never a reason for a round to fail


def add_pytest_options(group: Any) -> None:
    group.addoption("--sales-progress", default=None, help="keep what the run is doing in this JSON file")


def register(config: pytest.Config) -> None:
    """With ``--sales-progress PATH``: the plugin that keeps the file."""
    path = run_config.get(config).progress
    if path:
        plugin = Progress(Path(path))
        config.stash[PROGRESS_KEY] = plugin
        config.pluginmanager.register(plugin, "sales-contract-progress")


def watch(schema: Any, config: pytest.Config) -> None:
    """Count every generated request of ``schema`` (conformance and stateful alike) towards the progress."""
    plugin = config.stash.get(PROGRESS_KEY, None)
    if plugin is not None:
        schema.hook("after_call")(_after_call(plugin))


def _after_call(plugin: Progress) -> Callable[[Any, Any, Any], None]:
    def after_call(context: Any, case: Any, response: Any) -> None:
        definition = case.operation.definition.raw
        plugin.example(str(definition.get("operationId") or case.operation.label))

    return after_call


def read(path: Path) -> dict[str, Any] | None:
    """The latest state a round wrote, or None (not started yet, or not readable)."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def describe(state: dict[str, Any] | None, before: int) -> str:
    """``test_conformance createQuote (57 examples), 1,234 examples in all``; ``before``: the examples of
    earlier rounds."""
    if state is None:
        return f"starting the round, {examples(before)} in all"
    doing = str(state.get("test") or "collecting the tests")
    if state.get("operation"):
        doing += f" {state['operation']}"
        if state.get("operationExamples"):
            doing += f" ({examples(int(state['operationExamples']))})"
    return f"{doing}, {examples(before + int(state.get('examples') or 0))} in all"


def examples(count: int) -> str:
    """``1 example``, ``1,234 examples``."""
    return f"{count:,} example" + ("" if count == 1 else "s")


class Display:
    """The campaign's output: on a terminal, the progress is one line rewritten in place (other lines
    clear it first); otherwise a progress line is printed every ``every`` seconds."""

    def __init__(self, stream: TextIO, every: float, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.every = LIVE_EVERY if self.live else every
        self.showing = False

    def progress(self, text: str) -> None:
        if not self.live:
            self.line(f"    {text}")
            return
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()
        self.showing = True

    def line(self, text: str) -> None:
        """A line of its own (the live line, if any, is cleared first)."""
        if self.showing:
            self.stream.write("\r\x1b[K")
            self.showing = False
        self.stream.write(text + "\n")
        self.stream.flush()
