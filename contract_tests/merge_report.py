"""``sales-contract report merge OUT.html a.xml b.xml ...``: one JUnit file and one HTML report from many jobs.

Each input is a JUnit file written by ``sales-contract check --junit-xml`` (or a fuzz campaign's
``junit.xml``, or an earlier merge): its testsuites carry the run's results as the property
``sales-contract`` (see :mod:`contract_tests.campaign`). The merged JUnit file holds every input
testsuite, named by its shard; the HTML page is self-contained (inline style, no script, nothing
fetched) and shows the campaign's verdict, a table of checks passed and failed per operation, and
each failure once, with its message, curl line and the commands that replay it.

Exit codes: 0 clean, 1 at least one violation or test error, 2 unusable input or a shard missing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract_tests import report_html
from contract_tests.cli_common import Command
from contract_tests.target import UsageError

PROPERTY = "sales-contract"  # the same name as contract_tests.campaign.PROPERTY (no import: the CLI stays light)
COUNTS = ("tests", "failures", "errors", "skipped")
FAILURE_KEYS = ("target", "operation", "check", "message", "curl", "seed", "file", "rerun")


@dataclass
class Suite:
    """One input testsuite and the contract results it carries (None: not written by sales-contract)."""

    source: str
    element: ET.Element
    data: dict[str, Any] | None

    @property
    def shard(self) -> str | None:
        return self.data.get("shard") if self.data else None

    @property
    def label(self) -> str:
        return f"shard {self.shard}" if self.shard else Path(self.source).name


@dataclass
class Failure:
    """One violation, named once however many jobs found it."""

    operation: str
    check: str
    record: dict[str, Any]
    seen_in: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "failure-" + "".join(ch if ch.isalnum() else "-" for ch in f"{self.operation}-{self.check}")


@dataclass
class Campaign:
    suites: list[Suite]
    total_shards: int | None
    missing_shards: list[int]
    operations: dict[str, dict[str, int]]
    checks: dict[str, dict[str, int]]
    failures: list[Failure]
    errors: list[tuple[str, str, str]]  # (where, testcase, message) of JUnit errors outside the checks

    @property
    def verdict(self) -> str:
        if self.failures or self.errors:
            return "FAIL"
        return "INCOMPLETE" if self.missing_shards else "PASS"

    @property
    def exit_code(self) -> int:
        return {"FAIL": 1, "INCOMPLETE": 2}.get(self.verdict, 0)


def read_suites(paths: list[str]) -> list[Suite]:
    """Every testsuite of every file; an unreadable file or one without a testsuite is a :class:`UsageError`."""
    suites: list[Suite] = []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except FileNotFoundError as exc:
            raise UsageError(f"{path} does not exist") from exc
        except (OSError, ET.ParseError) as exc:
            raise UsageError(f"{path} is not a readable JUnit XML file: {exc}") from exc
        found = [root] if root.tag == "testsuite" else list(root.iter("testsuite")) if root.tag == "testsuites" else []
        if not found:
            raise UsageError(f"{path} is not a JUnit file (no <testsuite>)")
        suites += [Suite(path, element, _contract_data(path, element)) for element in found]
    return suites


def _contract_data(path: str, suite: ET.Element) -> dict[str, Any] | None:
    for prop in suite.iterfind("properties/property"):
        if prop.get("name") == PROPERTY:
            try:
                data = json.loads(prop.get("value") or "")
            except ValueError as exc:
                raise UsageError(f"{path}: the {PROPERTY} property is not JSON: {exc}") from exc
            if not isinstance(data, dict):
                raise UsageError(f"{path}: the {PROPERTY} property is not an object")
            return data
    return None


def collect(suites: list[Suite]) -> Campaign:
    shards = {suite.source + str(suite.shard): _parse_shard(suite) for suite in suites if suite.shard}
    totals = {total for _, total in shards.values()}
    if any(s.data and not s.shard for s in suites) and totals:
        totals.add(1)
    if len(totals) > 1:
        raise UsageError(f"the files come from different splits ({' and '.join(f'/{n}' for n in sorted(totals))})")
    total = totals.pop() if totals else None
    seen = {index for index, _ in shards.values()}
    missing = [index for index in range(1, (total or 0) + 1) if index not in seen]
    failures: dict[tuple[str, str], Failure] = {}
    for suite in suites:
        for record in _records(suite, "failures"):
            key = (str(record.get("operation")), str(record.get("check")))
            failure = failures.setdefault(key, Failure(key[0], key[1], record))
            failure.seen_in.append(f"{suite.label} (seed {record.get('seed')})")
    errors = [
        (suite.label, case.get("name", "?"), (error.get("message") or error.text or "").strip()[:2000])
        for suite in suites
        for case in suite.element.iter("testcase")
        for error in case.findall("error")
    ]
    ordered = [failures[key] for key in sorted(failures)]
    return Campaign(
        suites, total, missing, _outcomes(suites, "operations"), _outcomes(suites, "checks"), ordered, errors
    )


def _parse_shard(suite: Suite) -> tuple[int, int]:
    found = re.fullmatch(r"(\d{1,6})/(\d{1,6})", str(suite.shard))
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise UsageError(f"{suite.source}: not a shard: {suite.shard!r}")
    return int(found.group(1)), int(found.group(2))


def _records(suite: Suite, key: str) -> list[dict[str, Any]]:
    value = (suite.data or {}).get(key) or []
    return [record for record in value if isinstance(record, dict)] if isinstance(value, list) else []


def _outcomes(suites: list[Suite], key: str) -> dict[str, dict[str, int]]:
    """Passed/failed/skipped per name (operation or check), summed over the suites."""
    summed: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
    for suite in suites:
        found = (suite.data or {}).get(key) or {}
        for name, outcome in found.items() if isinstance(found, dict) else []:
            for kind in ("passed", "failed", "skipped"):
                value = outcome.get(kind, 0) if isinstance(outcome, dict) else 0
                summed[str(name)][kind] += value if isinstance(value, int) else 0
    return dict(summed)


def merged_junit(suites: list[Suite]) -> ET.ElementTree[ET.Element]:
    """One ``<testsuites>`` with every input testsuite (renamed after its shard) and the summed counts."""
    root = ET.Element("testsuites", name="sales-contract")
    sums = dict.fromkeys(COUNTS, 0)
    elapsed = 0.0
    for suite in suites:
        element = _copy(suite.element)
        if suite.shard and f"(shard {suite.shard})" not in element.get("name", ""):
            element.set("name", f"{element.get('name', 'pytest')} (shard {suite.shard})")
        for key in COUNTS:
            sums[key] += _number(element.get(key))
        elapsed += _number(element.get("time"), float)
        root.append(element)
    for key, value in sums.items():
        root.set(key, str(value))
    root.set("time", f"{elapsed:.3f}")
    return ET.ElementTree(root)


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: no control characters, no lone surrogates (fuzzed bodies have both)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "?", text)


def _copy(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))


def _number(text: str | None, kind: type = int) -> Any:
    try:
        return kind(text or 0)
    except ValueError:
        return kind(0)


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
    from contract_tests.cli_common import HelpFormatter, epilog

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
        if junit.resolve() in {Path(path).resolve() for path in args.inputs} or output.suffix.lower() == ".xml":
            raise UsageError("the outputs must not overwrite an input (write OUT.html, the JUnit file goes beside it)")
        campaign = collect(read_suites(args.inputs))
        write(campaign, output, junit)
    except (UsageError, OSError) as exc:
        print(f"sales-contract report merge: {exc}", file=sys.stderr)
        return 2
    print(
        f"report merge: {len(campaign.suites)} testsuite(s), {len(campaign.failures)} violation(s): {campaign.verdict}"
    )
    if campaign.missing_shards:
        missing = ", ".join(f"{i}/{campaign.total_shards}" for i in campaign.missing_shards)
        print(f"  missing shard(s): {missing}: the campaign did not run the whole suite")
    for failure in campaign.failures:
        print(f"  - {failure.operation} / {failure.check}  ({', '.join(failure.seen_in)})")
    print(f"  wrote {output} and {junit}")
    return campaign.exit_code


def write(campaign: Campaign, output: Path, junit: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    junit.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report_html.render(campaign), encoding="utf-8", errors="backslashreplace")
    _write_tree(merged_junit(campaign.suites), junit)


def _write_tree(tree: ET.ElementTree[ET.Element], path: Path) -> None:
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def junit_for_rounds(
    rounds: list[Path],
    failures_dir: Path,
    output: Path,
    *,
    target: str,
    shard: str | None,
    example_db: str | None,
    writes: bool | None,
    error: str | None = None,
) -> None:
    """A fuzz campaign's JUnit file: its rounds' JUnit files in one, plus a testsuite for the failures of a
    round that wrote no JUnit file (it saved each failure at once) and for ``error``, why the campaign ended early."""
    from contract_tests.campaign import rerun_command

    suites: list[Suite] = []
    for path in rounds:
        try:
            suites += read_suites([str(path)])
        except UsageError:
            continue  # a round killed while pytest wrote its file
    known = {f.get("file") for s in suites for f in _records(s, "failures")}
    orphans = []
    for path in sorted(failures_dir.glob("*.json")) if failures_dir.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if str(path) not in known and isinstance(record, dict):
            operation = str(record.get("operation"))
            record["file"] = str(path)
            record["rerun"] = rerun_command(target, "fuzz", operation, record.get("seed"), None, writes, example_db)
            orphans.append(record)
    if orphans or error or len(suites) < len(rounds) or not suites:
        suites.append(_stopped_round(orphans, shard, target, example_db, error))
    output.parent.mkdir(parents=True, exist_ok=True)
    _write_tree(merged_junit(suites), output)


def _stopped_round(
    failures: list[dict[str, Any]], shard: str | None, target: str, example_db: str | None, error: str | None
) -> Suite:
    from contract_tests.campaign import FORMAT
    from contract_tests.exampledb import redacted

    suite = ET.Element("testsuite", name="sales-contract fuzz", tests=str(len(failures)))
    suite.set("failures", str(len(failures)))
    suite.set("errors", "1" if error else "0")
    suite.set("skipped", "0")
    operations: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
    for record in failures:
        for operation in str(record.get("operation")).split(","):
            operations[operation]["failed"] += 1
    data = {
        "format": FORMAT,
        "shard": shard,
        "seed": failures[0].get("seed") if failures else None,
        "profile": "fuzz",
        "target": target,
        "exampleDb": redacted(example_db) if example_db else None,
        "operations": dict(operations),
        "failures": [{key: record.get(key) for key in FAILURE_KEYS} for record in failures],
    }
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name=PROPERTY, value=json.dumps(data))
    for record in failures:
        case = ET.SubElement(suite, "testcase", classname="sales-contract.fuzz")
        case.set("name", f"{record.get('operation')} / {record.get('check')}")
        failure = ET.SubElement(case, "failure", message=_xml_text(str(record.get("check"))))
        failure.text = _xml_text(str(record.get("message", "")))
    if error:
        case = ET.SubElement(suite, "testcase", classname="sales-contract.fuzz", name="sales-contract fuzz")
        ET.SubElement(case, "error", message=_xml_text(error)).text = _xml_text(error)
        suite.set("tests", str(len(failures) + 1))
    return Suite("fuzz", suite, data)


COMMAND = Command(
    "report",
    "report merge OUT.html A.xml B.xml ...: " + MERGE_HELP,
    configure,
    run,
    target=False,
    junit=False,
    exit_codes=EXIT_CODES,
)
