"""``sales-contract``: run the contract suite against the mock or a live URL, for CI and for QA.

Exit codes: 0 clean, 1 contract violation, 2 usage error or unusable target.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from contract_tests.report import RECORDER_KEY, Recorder
from contract_tests.target import ENV_VARS, UsageError, live_target, spec_path

PACKAGE_DIR = Path(__file__).resolve().parent
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


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-key", default=None, help=f"API key (default ${ENV_VARS['api_key']})")
    parser.add_argument("--entity-id", default=None, help=f"entity id (default ${ENV_VARS['entity_id']})")
    parser.add_argument("--seed", type=int, default=None, help="seed for every generator (printed on each run)")
    parser.add_argument("--operations", default=None, help="comma-separated operationIds, e.g. createQuote,getQuote")
    writes = parser.add_mutually_exclusive_group()
    writes.add_argument("--read-only", dest="allow_writes", action="store_false", help="GETs only (URL default)")
    writes.add_argument(
        "--allow-writes", dest="allow_writes", action="store_true", help="create, then clean up (mock default)"
    )
    parser.set_defaults(allow_writes=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sales-contract", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run the contract suite once")
    check.add_argument("--target", default=os.environ.get(ENV_VARS["base_url"]) or "mock", help="mock or a base URL")
    check.add_argument("--max-examples", type=int, default=None, help="generated examples per operation and mode")
    check.add_argument("--profile", choices=["default", "fast", "fuzz"], default="default")
    check.add_argument("--junit-xml", default=None, help="write a JUnit XML report to PATH")
    check.add_argument("--failures-dir", default=None, help="save each failure as a replayable JSON file here")
    check.add_argument("-v", "--verbose", action="store_true", help="pytest's verbose output")
    add_target_options(check)
    from contract_tests import fuzz

    fuzz.add_parser(commands)
    from contract_tests.proxy import run as proxy

    proxy.add_parser(commands)
    replay = commands.add_parser("replay", help="re-send the request saved in a failure file")
    replay.add_argument("file")
    return parser


def preflight(target: str, api_key: str | None, entity_id: str | None) -> None:
    """A URL target must answer and accept the key for the entity: a wrong key is a usage error, not a pass."""
    spec_path()
    if target == "mock":
        return
    resolved = live_target(target, api_key=api_key, entity_id=entity_id)
    url = f"{resolved.origin}/api/sales/customers"
    try:
        response = httpx.get(
            url,
            params={"entityId": resolved.entity_id},
            headers={"Authorization": f"Bearer {resolved.api_key}"},
            timeout=15,
        )
    except httpx.HTTPError as exc:
        raise UsageError(f"the target {resolved.origin} is unreachable: {exc}") from exc
    if response.status_code in (401, 403):
        raise UsageError(f"the target refused the API key for entity {resolved.entity_id} ({response.status_code})")
    if response.status_code != 200:
        raise UsageError(f"preflight GET {url} answered {response.status_code}, expected 200")


def pytest_args(args: argparse.Namespace, ini: Path) -> list[str]:
    argv = [str(PACKAGE_DIR), "-c", str(ini), "--rootdir", str(PACKAGE_DIR.parent), "-p", "no:randomly"]
    argv += ["-v" if args.verbose else "-q", "--tb=short", "-rfE", "--sales-profile", args.profile]
    argv += ["--sales-target", args.target]
    for option, value in (
        ("--sales-api-key", args.api_key),
        ("--sales-entity-id", args.entity_id),
        ("--sales-max-examples", args.max_examples),
        ("--sales-seed", args.seed),
        ("--sales-operations", args.operations),
        ("--junit-xml", args.junit_xml),
    ):
        if value is not None:
            argv += [option, str(value)]
    if args.allow_writes:
        argv.append("--sales-allow-writes")
    if args.allow_writes is False:
        argv.append("--sales-read-only")
    return argv


class _RecorderPlugin:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[RECORDER_KEY] = self.recorder


def run_check(args: argparse.Namespace) -> int:
    try:
        preflight(args.target, args.api_key, args.entity_id)
    except UsageError as exc:
        print(f"sales-contract: {exc}", file=sys.stderr)
        return 2
    writes = (
        "read-only" if args.allow_writes is False or (args.allow_writes is None and args.target != "mock") else "writes"
    )
    print(f"sales-contract: checking {args.target} ({args.profile} profile, {writes})", flush=True)
    recorder = Recorder(failures_dir=Path(args.failures_dir) if args.failures_dir else None)
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(INI)
        code = pytest.main(pytest_args(args, ini), plugins=[_RecorderPlugin(recorder)])
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or recorder.operations:
        result = 1 if recorder.failures or code == pytest.ExitCode.TESTS_FAILED else 0
    else:
        result = 2
    print(f"sales-contract: {'PASS' if result == 0 else 'FAIL'} (seed {recorder.seed}, pytest exit {int(code)})")
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return run_check(args)
    if args.command == "proxy":
        from contract_tests.proxy.run import run_proxy

        return run_proxy(args)
    if args.command == "replay":
        from contract_tests.fuzz import replay

        return replay(Path(args.file))
    from contract_tests.fuzz import run_fuzz

    return run_fuzz(args)


if __name__ == "__main__":
    sys.exit(main())
