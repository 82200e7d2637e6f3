"""``sales-contract``: run the contract suite against the mock or a live URL, for CI and for QA.

Every command takes the target, the credentials and the durations the same way, and its exit
code means one thing: 0 no violation, 1 a contract violation, 2 a usage or target problem.
"""

from __future__ import annotations

import argparse
import sys

from contract_tests import cli_common
from contract_tests.cli import check, fuzz, replay, report
from contract_tests.cli.check import pytest_args
from contract_tests.cli_common import EXIT_VIOLATION, Command
from contract_tests.proxy import run as proxy

__all__ = ["build_parser", "main", "pytest_args"]

OVERVIEW_VIOLATION = f"{cli_common.EXIT_CODES[EXIT_VIOLATION]} (replay: it reproduces)"


COMMANDS: dict[str, Command] = {
    "check": check.CHECK,
    "fuzz": fuzz.COMMAND,
    "replay": replay.COMMAND,
    "proxy": proxy.COMMAND,
    "report": report.COMMAND,
}
"""Every subcommand by name, in ``--help`` order. A new one: a ``Command`` in its module, one line here."""


def build_parser() -> argparse.ArgumentParser:
    from mock_server.resources import version

    parser = cli_common.Parser(
        prog="sales-contract",
        description=__doc__,
        epilog=cli_common.epilog(exit_codes={**cli_common.EXIT_CODES, EXIT_VIOLATION: OVERVIEW_VIOLATION}),
        formatter_class=cli_common.HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sales-contract {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS.values():
        cli_common.add_command(subparsers, command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cli_common.Parser.argv = argv
    args = build_parser().parse_args(argv)
    return cli_common.run_command(args)
