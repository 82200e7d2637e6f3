"""The vocabulary every ``sales-contract`` command shares.

One place for: the target (``--target URL|mock``, default ``$SALES_API_BASE_URL``), the
credentials (``--api-key``, ``--entity-id``, ``--readonly-key``, ``--other-entity-id``, ``--other-key``,
``--admin-token`` and their environment variables), durations (``90s``, ``10m``, ``1h`` or plain
seconds), the per-request ``--timeout``, ``--junit-xml`` (written on every exit, including 2), the
exit codes and the ``--help`` epilog that lists all of them.

A new subcommand is a :class:`Command` (name, help, its own options, a ``run`` function)
named in ``cli.COMMANDS``; ``cli.build_parser`` gives it the common options and the epilog.
A ``run`` function raises :class:`~contract_tests.target.UsageError` for a usage or target
problem and returns :data:`EXIT_OK` or :data:`EXIT_VIOLATION` otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from xml.sax.saxutils import escape, quoteattr

from contract_tests.target import ENV_VARS, UsageError

EXIT_OK = 0
"""No contract violation was found."""
EXIT_VIOLATION = 1
"""At least one contract violation was found (or reproduced, for ``replay``)."""
EXIT_USAGE = 2
"""A usage or target problem: bad option, unknown operationId, unreadable file, unreachable
target, refused credentials, an interrupted run that found nothing."""

EXIT_CODES = {
    EXIT_OK: "no contract violation",
    EXIT_VIOLATION: "a contract violation was found",
    EXIT_USAGE: "usage or target problem: bad option, unknown operationId, unreadable file, "
    "unreachable target, refused credentials, interrupted run",
}

ADMIN_TOKEN_ENV = "SALES_ADMIN_TOKEN"
TIMEOUT_ENV = "SALES_API_TIMEOUT"
DEFAULT_TIMEOUT = 30.0

ENVIRONMENT = {
    ENV_VARS["base_url"]: "default --target (else: mock, the in-process mock)",
    ENV_VARS["api_key"]: "default --api-key",
    ENV_VARS["entity_id"]: "default --entity-id",
    ADMIN_TOKEN_ENV: "default --admin-token (a mock started with --admin-token)",
    TIMEOUT_ENV: "default --timeout",
    ENV_VARS["readonly_key"]: "default --readonly-key",
    ENV_VARS["other_entity_id"]: "default --other-entity-id",
    ENV_VARS["other_key"]: "default --other-key",
    ENV_VARS["allow_writes"]: "1 = --allow-writes",
    "SALES_API_SPEC": "another contract file instead of openapi/sales.yaml",
}

UNITS = {"s": 1, "m": 60, "h": 3600}


def epilog(
    environment: Mapping[str, str] = ENVIRONMENT, exit_codes: Mapping[int, str] = EXIT_CODES, durations: bool = True
) -> str:
    """The ``--help`` text after the options: the environment variables the command reads (none: no
    section), its exit codes, and the duration format when it takes a duration."""
    lines = []
    if environment:
        width = max(len(name) for name in environment)
        lines += ["environment variables:"]
        lines += [f"  {name:<{width}}  {what}" for name, what in environment.items()]
        lines += [""]
    lines += ["exit codes:"]
    lines += [f"  {code}  {what}" for code, what in exit_codes.items()]
    if durations:
        lines += ["", "durations: 90s, 10m, 1h or plain seconds"]
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` of every command: the description and epilog as written, and each option's default
    said plainly, ``(default: 20)``, where it has one; an option whose help names its own default (an
    environment variable, a behaviour) is left as written, and one without a default says nothing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or "(default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``1h`` or plain seconds, > 0."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not found or float(found.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h)")
    return float(found.group(1)) * UNITS[found.group(2) or "s"]


# -- JUnit ---------------------------------------------------------------------------------------


def write_junit_error(path: str | Path, command: str, problem: str) -> None:
    """A JUnit file with one error case naming why the run could not happen (exit 2)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    case = f"sales-contract {command}"
    target.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuites><testsuite name="sales-contract" tests="1" errors="1" failures="0" skipped="0">'
        f"<testcase classname={quoteattr('sales-contract')} name={quoteattr(case)}>"
        f"<error message={quoteattr(problem)}>{escape(problem)}</error>"
        "</testcase></testsuite></testsuites>\n"
    )


def _junit_path_in(argv: Sequence[str]) -> str | None:
    for index, token in enumerate(argv):
        if token == "--junit-xml" and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith("--junit-xml="):
            return token.split("=", 1)[1]
    return None


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors still write the JUnit file that was asked for."""

    argv: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        junit = _junit_path_in(self.argv)
        if junit:
            try:
                write_junit_error(junit, self.prog, f"usage error: {message}")
            except OSError:
                pass
        super().error(message)


# -- Commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One ``sales-contract`` subcommand. ``configure`` adds its own options; ``run`` returns an exit code.

    ``target`` False leaves out the target/credential/selection options (a command that reads files only,
    or one that names them itself); ``junit`` False leaves out ``--junit-xml`` (the command adds it).
    ``writes`` False leaves out ``--read-only``/``--allow-writes``, ``selection`` False ``--seed`` and
    ``--operations`` (a command that does not generate requests).
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    target: bool = True
    writes: bool = True
    junit: bool = True
    environment: dict[str, str] | None = None
    """Environment variables a command without the shared target options reads itself (for ``--help``)."""
    selection: bool = True
    exit_codes: Mapping[int, str] = field(default_factory=lambda: EXIT_CODES)
    """What each exit code means for this command (for ``--help``)."""
    defaults: Mapping[str, str] = field(default_factory=dict)
    """What a shared option left unset means for this command, by dest (for ``--help``): ``{"seed": "random"}``."""


def add_command(commands: Any, command: Command) -> argparse.ArgumentParser:
    """The subparser for ``command`` with the shared options and the epilog."""
    parser: argparse.ArgumentParser = commands.add_parser(
        command.name, help=command.help, description=command.help, formatter_class=HelpFormatter
    )
    command.configure(parser)
    if command.target:
        add_target_options(parser, writes=command.writes, selection=command.selection)
    if command.junit:
        parser.add_argument(
            "--junit-xml", default=None, metavar="PATH", help="write a JUnit XML report, also on exit 2"
        )
    for action in parser._actions:
        if action.dest in command.defaults:
            action.help = f"{action.help} (default: {command.defaults[action.dest]})"
    parser.epilog = command_epilog(command, parser)
    parser.set_defaults(command_spec=command)
    return parser


def command_epilog(command: Command, parser: argparse.ArgumentParser) -> str:
    """The epilog of one command: only the environment variables it reads, its exit codes, and the
    duration format when one of its options takes a duration."""
    if command.target:
        environment = dict(ENVIRONMENT)
        if not command.writes:
            environment.pop(ENV_VARS["allow_writes"])
    else:
        environment = dict(command.environment or {})
    durations = any(action.type is parse_duration for action in parser._actions)
    return epilog(environment, command.exit_codes, durations)


def add_target_options(parser: argparse.ArgumentParser, *, writes: bool = True, selection: bool = True) -> None:
    """``--target``, credentials, ``--timeout``, ``--seed``, ``--operations`` and the write switch."""
    group = parser.add_argument_group("target and credentials")
    group.add_argument(
        "--target",
        default=None,
        metavar="URL|mock",
        help=f"a base URL or 'mock' (the mock in this process) (default: ${ENV_VARS['base_url']}, else mock)",
    )
    group.add_argument(
        "--api-key", default=None, metavar="KEY", help=f"API key for a URL target (default: ${ENV_VARS['api_key']})"
    )
    group.add_argument(
        "--entity-id",
        default=None,
        metavar="ID",
        help=f"the entity a URL target is tested in (default: ${ENV_VARS['entity_id']}; without one, a mock's "
        "scratch entity, deleted afterwards)",
    )
    group.add_argument(
        "--readonly-key",
        default=None,
        metavar="KEY",
        help="a read-only key of the same entity: enables the rule that it cannot write "
        f"(default: ${ENV_VARS['readonly_key']})",
    )
    group.add_argument(
        "--other-entity-id",
        default=None,
        metavar="ID",
        help="a second entity, with --other-key: enables the cross-entity rules (403, 404, no leaks, the "
        f"dashboard counts only its own entity) (default: ${ENV_VARS['other_entity_id']})",
    )
    group.add_argument(
        "--other-key",
        default=None,
        metavar="KEY",
        help=f"the second entity's key (default: ${ENV_VARS['other_key']})",
    )
    group.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help=f"token of a mock's /__admin API (default: ${ADMIN_TOKEN_ENV})",
    )
    group.add_argument(
        "--timeout",
        type=parse_duration,
        default=None,
        metavar="DURATION",
        help=f"per-request timeout, e.g. 30s (default: ${TIMEOUT_ENV}, else {DEFAULT_TIMEOUT:.0f}s)",
    )
    if selection:
        group.add_argument(
            "--seed", type=int, default=None, metavar="N", help="seed for every generator, printed by each run"
        )
    group.add_argument(
        "--spec",
        default=None,
        metavar="PATH",
        help="your own contract file (default: $SALES_API_SPEC, else the packaged one)",
    )
    if selection:
        group.add_argument(
            "--operations",
            default=None,
            metavar="IDS",
            help="only these operationIds, comma-separated, e.g. createQuote,getQuote (default: all)",
        )
    if writes:
        switch = group.add_mutually_exclusive_group()
        switch.add_argument(
            "--read-only",
            dest="allow_writes",
            action="store_false",
            help="GETs only (default: for a URL target with --entity-id)",
        )
        switch.add_argument(
            "--allow-writes",
            dest="allow_writes",
            action="store_true",
            help="create, then clean up (default: for the mock, and for a URL target in a scratch entity)",
        )
        parser.set_defaults(allow_writes=None)


# -- Resolution of the shared options ------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """The shared options after defaults from the environment: what every command works with."""

    target: str
    api_key: str | None
    entity_id: str | None
    admin_token: str | None
    timeout: float
    operations: list[str]
    readonly_key: str | None = None
    other_entity_id: str | None = None
    other_key: str | None = None

    @property
    def is_mock(self) -> bool:
        return self.target == "mock"

    def credentials_env(self) -> dict[str, str]:
        """Every credential as its environment variable: how a child process (a fuzz round) gets them, never
        on its command line."""
        values = {
            ENV_VARS["api_key"]: self.api_key,
            ENV_VARS["entity_id"]: self.entity_id,
            ENV_VARS["readonly_key"]: self.readonly_key,
            ENV_VARS["other_entity_id"]: self.other_entity_id,
            ENV_VARS["other_key"]: self.other_key,
            ADMIN_TOKEN_ENV: self.admin_token,
        }
        return {name: value for name, value in values.items() if value}


def resolve(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Resolved:
    """Apply the environment defaults and validate: a URL or ``mock``, known operationIds, a timeout."""
    from contract_tests.target import normalize_origin

    env = os.environ if env is None else env
    target = getattr(args, "target", None) or env.get(ENV_VARS["base_url"]) or "mock"
    if target != "mock":
        target = normalize_origin(target)
    timeout = getattr(args, "timeout", None)
    if timeout is None:
        text = env.get(TIMEOUT_ENV)
        try:
            timeout = parse_duration(text) if text else DEFAULT_TIMEOUT
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"${TIMEOUT_ENV}: {exc}") from exc
    operations = [op.strip() for op in (getattr(args, "operations", None) or "").split(",") if op.strip()]
    if operations:
        known = operation_ids()
        unknown = [op for op in operations if op not in known]
        if unknown:
            raise UsageError(f"unknown operationId {', '.join(unknown)}; the contract has: {', '.join(sorted(known))}")
    return Resolved(
        target=target,
        api_key=getattr(args, "api_key", None) or env.get(ENV_VARS["api_key"]) or None,
        entity_id=getattr(args, "entity_id", None) or env.get(ENV_VARS["entity_id"]) or None,
        admin_token=getattr(args, "admin_token", None) or env.get(ADMIN_TOKEN_ENV) or None,
        timeout=float(timeout),
        operations=operations,
        readonly_key=getattr(args, "readonly_key", None) or env.get(ENV_VARS["readonly_key"]) or None,
        other_entity_id=getattr(args, "other_entity_id", None) or env.get(ENV_VARS["other_entity_id"]) or None,
        other_key=getattr(args, "other_key", None) or env.get(ENV_VARS["other_key"]) or None,
    )


def operation_ids() -> set[str]:
    """Every operationId of the contract."""
    import yaml

    from contract_tests.target import spec_path

    try:
        raw = yaml.safe_load(spec_path().read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the contract: {exc}") from exc
    found: set[str] = set()
    for item in (raw.get("paths") or {}).values():
        for operation in (item or {}).values():
            if isinstance(operation, dict) and operation.get("operationId"):
                found.add(str(operation["operationId"]))
    return found


def read_json_file(path: str | Path, what: str = "file") -> Any:
    """A JSON file, or a :class:`UsageError` saying why it cannot be read (never a traceback)."""
    import json

    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"the {what} {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"the {what} {path} is a directory") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc}") from exc
    except ValueError as exc:
        raise UsageError(f"the {what} {path} is not JSON: {exc}") from exc


# -- Running a command ---------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command: a :class:`UsageError` becomes exit 2 with one line on stderr (and the JUnit file)."""
    command: Command = args.command_spec
    try:
        if getattr(args, "spec", None):
            from contract_tests.target import SPEC_ENV, spec_path

            os.environ[SPEC_ENV] = args.spec  # the suite, and every child process (fuzz rounds), read it there
            spec_path()
        return command.run(args)
    except UsageError as exc:
        return usage_failure(args, str(exc))


def usage_failure(args: argparse.Namespace, problem: str) -> int:
    """Report a usage or target problem: stderr, the JUnit error case when asked for, exit 2."""
    return report_usage(args.command_spec.name, getattr(args, "junit_xml", None), problem)


def report_usage(command: str, junit: str | None, problem: str) -> int:
    """:func:`usage_failure` of ``command`` with its JUnit file (None: none asked for)."""
    print(f"sales-contract {command}: {problem}", file=sys.stderr, flush=True)
    if junit:
        try:
            write_junit_error(junit, command, problem)
        except OSError as exc:
            print(f"sales-contract: cannot write {junit}: {exc}", file=sys.stderr)
    return EXIT_USAGE
