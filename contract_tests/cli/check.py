"""``sales-contract check``: the suite once, in process, on the target (and ``preflight``, the first request
every command that drives the target sends).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from contract_tests import campaign, cli_common, interrupts
from contract_tests.campaign.run_config import Given, RunConfig, allow_writes_from_env
from contract_tests.cli import scratch
from contract_tests.cli_common import EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, Command, Resolved
from contract_tests.profiles import DEFAULT_SEED
from contract_tests.report import RECORDER_KEY, Recorder
from contract_tests.target import UsageError, live_target, spec_path

INI = """[pytest]
addopts = --strict-markers -p no:cacheprovider
xfail_strict = true
filterwarnings =
    error
    ignore::pytest.PytestAssertRewriteWarning
markers =
    fuzz: long fuzzing runs
    live: needs a live server
    browser: needs headless chromium
    slow: slower tests
"""


# -- check ---------------------------------------------------------------------------------------


def configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="generated examples per operation and mode (default: the profile's)",
    )
    parser.add_argument(
        "--profile",
        choices=["default", "fast", "fuzz"],
        default="default",
        help="how hard to push: fast (a quick look), default, fuzz (many examples)",
    )
    parser.add_argument(
        "--failures-dir",
        default=None,
        metavar="DIR",
        help="save each failure here as a JSON file for sales-contract replay (default: not saved)",
    )
    parser.add_argument(
        "--budget",
        type=cli_common.parse_duration,
        default=None,
        metavar="DURATION",
        help="stop sending new requests after this long, e.g. 300, 5m; the summary says what was left out "
        "(default: no limit)",
    )
    # Scenario tests to run instead of the whole suite (FILE::NAME, repeatable): replay, the mutant self-test.
    parser.add_argument("--test", action="append", default=None, help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="pytest's verbose output")
    campaign.add_cli_options(parser)


class Credentials(Protocol):
    """What :func:`preflight` reads (a :class:`Resolved` or a :class:`RunConfig`)."""

    @property
    def target(self) -> str | None: ...
    @property
    def api_key(self) -> str | None: ...
    @property
    def entity_id(self) -> str | None: ...
    @property
    def admin_token(self) -> str | None: ...
    @property
    def timeout(self) -> float: ...


def preflight(resolved: Credentials) -> None:
    """A URL target must answer and accept the key for the entity: a wrong key is a usage error, not a pass.

    With ``--admin-token`` the target's ``/__admin`` must accept it too.
    """
    spec_path()
    if resolved.target in (None, "mock"):
        return
    target = live_target(str(resolved.target), api_key=resolved.api_key, entity_id=resolved.entity_id)
    url = f"{target.origin}/api/sales/customers"
    try:
        response = httpx.get(
            url,
            params={"entityId": target.entity_id},  # only what the contract documents for listCustomers
            headers={"Authorization": f"Bearer {target.api_key}"},
            timeout=resolved.timeout,
        )
    except httpx.HTTPError as exc:
        raise UsageError(f"the target {target.origin} is unreachable: {type(exc).__name__} {exc}") from exc
    if response.status_code in (401, 403):
        raise UsageError(
            f"the target refused the API key for entity {target.entity_id} "
            f"({response.status_code}: {_reason(response)})"
        )
    if response.status_code != 200:
        raise UsageError(f"preflight GET {url} answered {response.status_code}: {_reason(response)}")
    if resolved.admin_token:
        try:
            admin = httpx.get(
                f"{target.origin}/__admin/health",
                headers={"X-Admin-Token": resolved.admin_token},
                timeout=resolved.timeout,
            )
        except httpx.HTTPError as exc:
            raise UsageError(f"the target's /__admin is unreachable: {exc}") from exc
        if admin.status_code in (401, 403):
            raise UsageError(f"the target's /__admin refused the admin token ({admin.status_code})")


def _reason(response: httpx.Response) -> str:
    """The server's ``error`` message, else the start of its body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text[:200] or "(empty body)"


def pytest_args(run: RunConfig, ini: Path) -> list[str]:
    """What pytest itself is told: the tests, the ini file, its output; the run's options go as ``run``."""
    tests = [_test_path(test) for test in run.tests] or [str(campaign.SUITE_DIR)]
    argv = [*tests, "-c", str(ini), "--rootdir", str(campaign.SUITE_DIR.parents[1]), "-p", "no:randomly"]
    argv += ["-v" if run.verbose else "-q", "--tb=short", "-rfE"]
    return argv + (["--junit-xml", run.junit_xml] if run.junit_xml else [])


def shared_config(args: argparse.Namespace, resolved: Resolved) -> RunConfig:
    """The options ``check`` and ``fuzz`` share, as the suite gets them (credentials only for a URL target)."""
    live = not resolved.is_mock
    return RunConfig(
        target=resolved.target,
        api_key=resolved.api_key if live else None,
        entity_id=resolved.entity_id if live else None,
        admin_token=resolved.admin_token,
        readonly_key=resolved.readonly_key if live else None,
        other_entity_id=resolved.other_entity_id if live else None,
        other_key=resolved.other_key if live else None,
        allow_writes=bool(args.allow_writes) or (args.allow_writes is None and allow_writes_from_env()),
        read_only=args.allow_writes is False,
        max_examples=args.max_examples,
        seed=args.seed,
        operations=tuple(resolved.operations),
        timeout=resolved.timeout,
        shard=args.shard,
        example_db=args.example_db or None,
    )


def run_config(args: argparse.Namespace, resolved: Resolved, made: scratch.Scratch | None = None) -> RunConfig:
    """The options of ``check``, built once, for the suite in process."""
    return replace(
        shared_config(args, resolved),
        profile=args.profile,
        budget=args.budget,
        failures_dir=args.failures_dir,
        junit_xml=args.junit_xml,
        scratch=made is not None,
        tests=tuple(args.test or ()),
        verbose=args.verbose,
    )


def _test_path(test: str) -> str:
    """``contract_tests/suite/test_x.py::test_y`` (or ``test_x.py::test_y``) -> the suite's file, then ``::test_y``."""
    file, _, name = test.partition("::")
    return str(campaign.SUITE_DIR / Path(file).name) + (f"::{name}" if name else "")


class _RecorderPlugin:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[RECORDER_KEY] = self.recorder


def run_check(args: argparse.Namespace) -> int:
    """The suite once; against a mock's URL without an entity, in scratch entities (deleted however it ends)."""
    resolved = cli_common.resolve(args)
    try:
        with interrupts.deferring_interrupts(), scratch.entities(resolved, "check") as made:
            resolved = scratch.adopt(made, resolved, args)
            with scratch.exported(made):
                return execute(run_config(args, resolved, made), made)
    except KeyboardInterrupt:
        raise UsageError("the run was interrupted (its scratch entities were deleted)") from None


def execute(run: RunConfig, made: scratch.Scratch | None = None) -> int:
    """The suite once with ``run``: what ``check`` does after its options are read (and a fuzz round, with its
    campaign's config)."""
    preflight(run)
    campaign.preflight(run)
    writes = "writes" if run.writes else "read-only"
    where = campaign.describe(run)
    scope = f" in {made.describe()}" if made else ""
    print(f"sales-contract: checking {run.target} ({run.profile} profile, {writes}{where}){scope}", flush=True)
    recorder = Recorder(failures_dir=Path(run.failures_dir) if run.failures_dir else None)
    if run.scratch:
        recorder.entity_scope = "scratch"  # its failures replay in a scratch entity too
    started, wall_start = time.monotonic(), time.time() - 1
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(INI)
        plugins = [Given(run), _RecorderPlugin(recorder)]
        code = pytest.main(pytest_args(run, ini), plugins=plugins)
    elapsed = time.monotonic() - started
    if recorder.failures or code == pytest.ExitCode.TESTS_FAILED:
        result = EXIT_VIOLATION
    elif code == pytest.ExitCode.OK or (code == pytest.ExitCode.NO_TESTS_COLLECTED and recorder.operations):
        result = EXIT_OK
    else:
        result = EXIT_USAGE
    verdict = {EXIT_OK: "PASS", EXIT_VIOLATION: "FAIL"}.get(result, "ERROR")
    if recorder.leftovers:  # what stays on the target, just before the verdict (the summary lists every id)
        left = "; ".join(item.line() for item in recorder.uncleaned) or "none"
        print(
            f"sales-contract: left on the target: {len(recorder.closed)} closed resource(s) (ids in the summary), "
            f"{len(recorder.uncleaned)} it could not even close: {left}",
            flush=True,
        )
    print(
        f"sales-contract: {verdict} in {elapsed:.0f}s (seed {recorder.seed}{where}, pytest exit {int(code)}, "
        f"sales-contract exit {result})",
        flush=True,
    )
    if result == EXIT_USAGE:
        problem = "the run was interrupted" if code == pytest.ExitCode.INTERRUPTED else f"pytest exit {int(code)}"
        print(f"sales-contract check: {problem}", file=sys.stderr, flush=True)
        junit = Path(run.junit_xml) if run.junit_xml else None
        if junit is not None and not (junit.is_file() and junit.stat().st_mtime >= wall_start):
            cli_common.write_junit_error(junit, "check", problem)
    return result


CHECK = Command(
    "check", "run the contract suite once", configure_check, run_check, defaults={"seed": str(DEFAULT_SEED)}
)


def run_argv(argv: list[str]) -> int:
    """``sales-contract check ARGV...`` from another command (replay runs a scenario test again)."""
    parser = cli_common.Parser(prog="sales-contract", formatter_class=cli_common.HelpFormatter)
    cli_common.add_command(parser.add_subparsers(dest="command", required=True), CHECK)
    cli_common.Parser.argv = ["check", *argv]
    return cli_common.run_command(parser.parse_args(["check", *argv]))
