"""Campaigns spread over CI jobs: ``--shard i/n`` and ``--example-db URL`` for ``check`` and ``fuzz``,
and the run's results embedded in its JUnit file for ``sales-contract report merge``.

The pytest side is :class:`CampaignPlugin` (registered by the suite's conftest): it keeps this
shard's units, hands the example database to Hypothesis, and writes the recorder's outcomes and
failures into the JUnit file as the testsuite property ``sales-contract`` (JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from hypothesis.database import ExampleDatabase

from contract_tests.campaign import exampledb, progress, run_config, sharding
from contract_tests.report import Recorder, get_recorder, replay_command
from contract_tests.target import UsageError, spec_path

PROPERTY = "sales-contract"
FORMAT = 1
MESSAGE_LIMIT = 4000
CAMPAIGN_KEY = pytest.StashKey["CampaignPlugin"]()
SUITE_DIR = Path(__file__).resolve().parents[1] / "suite"


# -- Command line --------------------------------------------------------------------------------


def add_cli_options(parser: argparse.ArgumentParser) -> None:
    """``--shard`` and ``--example-db`` (``check`` and ``fuzz`` alike)."""
    parser.add_argument(
        "--shard",
        type=sharding.parse_shard,
        default=None,
        metavar="I/N",
        help="run shard I of N: the N jobs of a CI matrix together run the suite exactly once (default: the "
        "whole suite)",
    )
    parser.add_argument(
        "--example-db",
        default=None,
        metavar="URL",
        help="Hypothesis example database shared by runs and jobs: redis://host:port/db or a directory (default: none)",
    )


def preflight(args: argparse.Namespace | run_config.RunConfig) -> None:
    """An unusable example database is a usage error before anything runs."""
    url = getattr(args, "example_db", None)
    if url:
        exampledb.open_database(url)


def describe(args: argparse.Namespace | run_config.RunConfig) -> str:
    """``, shard 1/2, example db redis://...`` for the first and last lines of a run (empty when unsharded)."""
    parts = []
    if getattr(args, "shard", None) is not None:
        parts.append(f"shard {args.shard}")
    url = getattr(args, "example_db", None)
    if url:
        parts.append(f"example db {exampledb.redacted(url)}")
    return "".join(f", {part}" for part in parts)


# -- pytest ----------------------------------------------------------------------------------------


def add_pytest_options(group: Any) -> None:
    group.addoption("--sales-shard", type=sharding.parse_shard, default=None, help="run shard I/N of the suite")
    group.addoption("--sales-example-db", default=None, help="Hypothesis example database: redis://... or a directory")
    progress.add_pytest_options(group)


def register(config: pytest.Config) -> None:
    plugin = CampaignPlugin(config)
    config.stash[CAMPAIGN_KEY] = plugin
    config.pluginmanager.register(plugin, "sales-contract-campaign")
    progress.register(config)  # a fuzz round: what it is doing, for the campaign's progress line


def conformance_operations(config: pytest.Config, selected: list[str]) -> list[str]:
    """The operations the conformance layer tests in this job: this shard's, else the selected ones."""
    plugin = config.stash.get(CAMPAIGN_KEY, None)
    if plugin is None or plugin.split is None:
        return selected
    return plugin.split.conformance_operations


def example_database(config: pytest.Config) -> ExampleDatabase | None:
    plugin = config.stash.get(CAMPAIGN_KEY, None)
    return plugin.database if plugin is not None else None


class CampaignPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run = run_config.get(config)
        self.shard: sharding.Shard | None = self.run.shard
        self.db_url: str | None = self.run.example_db
        self.split: sharding.Split | None = None
        self.database: ExampleDatabase | None = None
        self._stack = contextlib.ExitStack()
        if self.db_url:
            try:
                self.database = exampledb.open_database(self.db_url)
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from exc
            self._stack.enter_context(exampledb.activated(self.database))

    def pytest_unconfigure(self) -> None:
        self._stack.close()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """After the suite's own ordering and ``--sales-operations`` selection: keep this shard's units."""
        if self.shard is None:
            return
        ours = [item for item in items if is_contract_test(item)]
        selected = selected_operations(config)
        operations = sharding.spec_operations(spec_path())
        self.split = sharding.split(self.shard, ours, operations, selected, _writes(config))
        if not self.split.units:
            raise pytest.UsageError(
                f"shard {self.shard} has no work: the run has {len(self.split.all_units)} unit(s) "
                f"(operations x layers), so use at most that many shards"
            )
        if self.split.drop:
            config.hook.pytest_deselected(items=self.split.drop)
            dropped = {id(item) for item in self.split.drop}
            items[:] = [item for item in items if id(item) not in dropped]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.split is not None:
            units = ", ".join(str(unit) for unit in sorted(self.split.units))
            terminalreporter.write_line(
                f"shard {self.shard}: {len(self.split.units)} of {len(self.split.all_units)} unit(s): {units}"
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before pytest writes the JUnit file: add this run's results to it."""
        from _pytest.junitxml import xml_key

        xml = session.config.stash.get(xml_key, None)
        if xml is not None:
            recorder = get_recorder(session.config)
            xml.add_global_property(PROPERTY, json.dumps(self.results(recorder)))
            # The same, readable in any JUnit viewer: what was not exercised, and what was left on the target.
            for name, lines in (
                ("not-exercised", [f"{i['rule']}: {i['reason']}" for i in recorder.not_exercised_list()]),
                ("left-on-target", [item.line() for item in recorder.leftovers]),
            ):
                if lines:
                    xml.add_global_property(f"{PROPERTY}-{name}", "; ".join(lines))

    def results(self, recorder: Recorder) -> dict[str, Any]:
        """What ``report merge`` needs from this run: outcomes per operation and check, and every failure."""
        files = _failure_files(recorder.failures_dir)
        failures = []
        for record in recorder.failures:
            file = record.file or files.get((record.target, record.operation, record.check))
            failures.append(
                {
                    "target": record.target,
                    "operation": record.operation,
                    "check": record.check,
                    "message": record.message[:MESSAGE_LIMIT],
                    "curl": record.curl,
                    "seed": record.seed,
                    "file": file,
                    "replay": replay_command(file, record.replay) if file else None,
                    "rerun": self.rerun_command(record.operation, record.seed),
                }
            )
        return {
            "format": FORMAT,
            "shard": str(self.shard) if self.shard else None,
            "units": sorted(str(unit) for unit in self.split.units) if self.split else None,
            "allUnits": len(self.split.all_units) if self.split else None,
            "seed": recorder.seed,
            "profile": self.run.profile,
            "target": self._target(),
            "exampleDb": exampledb.redacted(self.db_url) if self.db_url else None,
            "operations": {name: vars(outcome) for name, outcome in sorted(recorder.operations.items())},
            "checks": {name: vars(outcome) for name, outcome in sorted(recorder.checks.items())},
            "failures": failures,
            "notices": [{"reason": reason, "rules": rules} for reason, rules in recorder.notices.items()],
            "notExercised": recorder.not_exercised_list(),
            "notCleaned": [item.as_json() for item in recorder.uncleaned],
            "closed": [item.as_json() for item in recorder.closed],
        }

    def _target(self) -> str:
        chosen = self.run.target
        return "mock" if chosen in (None, "mock") else str(chosen)

    def rerun_command(self, operation: str, seed: int | None) -> str:
        run = self.run
        writes = True if run.allow_writes else (False if run.read_only else None)
        return rerun_command(
            self._target(),
            run.profile,
            operation,
            seed,
            run.max_examples,
            writes,
            self.db_url,
        )


def rerun_command(
    target: str,
    profile: str,
    operation: str,
    seed: int | None,
    max_examples: int | None = None,
    writes: bool | None = None,
    example_db: str | None = None,
) -> str:
    """The command that runs this operation again with the same seed (and the database, which replays it first)."""
    argv = ["sales-contract", "check", "--target", target, "--profile", profile]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if max_examples is not None:
        argv += ["--max-examples", str(max_examples)]
    if writes is not None:
        argv.append("--allow-writes" if writes else "--read-only")
    argv += ["--operations", operation]
    command = shlex.join(argv)
    if example_db:
        command += ' --example-db "$SALES_EXAMPLE_DB"'
    return command


def is_contract_test(item: pytest.Item) -> bool:
    """Whether ``item`` is one of the suite's own tests (a module of ``contract_tests/``)."""
    return Path(str(item.fspath)).parent == SUITE_DIR


def selected_operations(config: pytest.Config) -> list[str]:
    """The operationIds of ``--sales-operations``, in its order (empty: every operation)."""
    return list(run_config.get(config).operations)


def _writes(config: pytest.Config) -> bool:
    """Whether the run may write, as the suite's target fixture decides (a read-only run generates GETs only)."""
    return run_config.get(config).writes


def _failure_files(directory: Path | None) -> dict[tuple[str, str, str], str]:
    """(target, operation, check) -> the replayable failure file saved for it (as the run named it)."""
    found: dict[tuple[str, str, str], str] = {}
    if directory is None or not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            found.setdefault((record["target"], record["operation"], record["check"]), str(path))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found
