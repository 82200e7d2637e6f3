"""``sales-contract report merge OUT.html a.xml b.xml ...``: one JUnit file and one HTML report from many jobs.

The inputs are read and merged by :mod:`contract_tests.campaign.merge_report`, the page is drawn by
:mod:`contract_tests.campaign.report_html`.

Exit codes: 0 clean, 1 at least one violation or test error, 2 unusable input or a shard missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract_tests.campaign import report_html
from contract_tests.campaign.merge_report import Campaign, collect, merged_junit, read_suites, write_tree
from contract_tests.cli_common import Command, HelpFormatter, epilog
from contract_tests.target import UsageError

# -- Command -------------------------------------------------------------------------------------


EXIT_CODES = {
    0: "every shard is there and clean",
    1: "a job found a contract violation or a test error",
    2: "an input is unusable, the files come from different splits, or a shard is missing",
}
MERGE_HELP = (
    "the JUnit files of many jobs (shards, fuzz campaigns, earlier merges) in one JUnit file and one "
    "self-contained HTML report"
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``report merge``: its own subcommand, with only its own arguments and exit codes in its ``--help``."""
    actions = parser.add_subparsers(dest="action", required=True)
    merge = actions.add_parser(
        "merge",
        help=MERGE_HELP,
        description=MERGE_HELP,
        epilog=epilog({}, EXIT_CODES, durations=False),
        formatter_class=HelpFormatter,
    )
    merge.add_argument("output", metavar="OUT.html", help="the HTML report to write (its name ends in .html)")
    merge.add_argument(
        "inputs", metavar="JUNIT.xml", nargs="+", help="the JUnit files of the jobs, e.g. fuzz-*/junit.xml"
    )
    merge.add_argument(
        "--junit-xml", default=None, metavar="PATH", help="the merged JUnit file (default: OUT.html with .xml)"
    )


def run(args: argparse.Namespace) -> int:
    """Write the merged JUnit file (``--junit-xml``, default OUT.xml) and the HTML page; the campaign's exit code."""
    output = Path(args.output)
    junit = Path(args.junit_xml) if args.junit_xml else output.with_suffix(".xml")
    try:
        check_paths(output, junit, args.inputs, given=bool(args.junit_xml))
        campaign = collect(read_suites(args.inputs))
        write(campaign, output, junit)
    except UsageError as exc:
        print(f"sales-contract report merge: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"sales-contract report merge: cannot write {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"report merge: {len(campaign.suites)} testsuite(s), {len(campaign.failures)} violation(s): {campaign.verdict}"
    )
    print(f"  from: {', '.join(dict.fromkeys(suite.label for suite in campaign.suites))}")
    for note in campaign.notes:
        print(f"  note: {note}")
    if campaign.missing_shards:
        missing = ", ".join(f"{i}/{campaign.total_shards}" for i in campaign.missing_shards)
        print(f"  missing shard(s): {missing}: no JUnit file of theirs was given, so the campaign is incomplete")
    for failure in campaign.failures:
        print(f"  - {failure.operation} / {failure.check}  ({', '.join(failure.seen_in)})")
    print(f"  wrote {output} and {junit}")
    return campaign.exit_code


def check_paths(output: Path, junit: Path, inputs: list[str], *, given: bool) -> None:
    """The page is named ``.html``; no input is given twice; neither output is an input."""
    if output.suffix.lower() != ".html":
        raise UsageError(
            f"the report {output} must end in .html: the first argument is the HTML page to write, then the "
            "JUnit files (report merge OUT.html A.xml B.xml ...)"
        )
    sources: dict[Path, str] = {}
    for path in inputs:
        if Path(path).resolve() in sources:
            raise UsageError(f"{path} is given twice (also as {sources[Path(path).resolve()]}); give each file once")
        sources[Path(path).resolve()] = path
    if output.resolve() in sources:
        raise UsageError(f"the report {output} would overwrite the input {sources[output.resolve()]}")
    if junit.resolve() in sources:
        why = "--junit-xml names an input" if given else "the merged JUnit file is OUT.html with .xml"
        raise UsageError(
            f"the merged JUnit file {junit} would overwrite the input {sources[junit.resolve()]} ({why}): "
            "pass --junit-xml with another path"
        )


def write(campaign: Campaign, output: Path, junit: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    junit.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report_html.render(campaign), encoding="utf-8", errors="backslashreplace")
    write_tree(merged_junit(campaign.suites), junit)


COMMAND = Command(
    "report",
    "report merge OUT.html A.xml B.xml ...: " + MERGE_HELP,
    configure,
    run,
    target=False,
    junit=False,
    exit_codes=EXIT_CODES,
)
