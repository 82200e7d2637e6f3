"""What ``sales-contract report merge`` reads and writes: many jobs' JUnit files -> one campaign, one JUnit file.

Each input is a JUnit file written by ``sales-contract check --junit-xml`` (or a fuzz campaign's
``junit.xml``, or an earlier merge): its testsuites carry the run's results as the property
``sales-contract`` (see :mod:`contract_tests.campaign`). The merged JUnit file holds every input
testsuite, named by its shard; the HTML page is self-contained (inline style, no script, nothing
fetched) and shows the campaign's verdict, a table of checks passed and failed per operation, and
each failure once, with its message, curl line and the commands that replay it.

Exit codes: 0 clean, 1 at least one violation or test error, 2 unusable input or a shard missing.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract_tests.target import UsageError

PROPERTY = "sales-contract"  # the same name as contract_tests.campaign.PROPERTY (no import: the CLI stays light)
COUNTS = ("tests", "failures", "errors", "skipped")
FAILURE_KEYS = ("target", "operation", "check", "message", "curl", "seed", "file", "replay", "rerun")


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
        """How the report names where a result came from: its shard, else its file as given."""
        return f"shard {self.shard}" if self.shard else self.source


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
    notes: list[str] = field(default_factory=list)  # inputs that were merged but deserve a word
    not_exercised: dict[str, list[str]] = field(default_factory=dict)  # why -> rules (up front and found later)
    left: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # notCleaned/closed -> resources, by id

    @property
    def verdict(self) -> str:
        if self.failures or self.errors:
            return "FAIL"
        return "INCOMPLETE" if self.missing_shards else "PASS"

    @property
    def exit_code(self) -> int:
        return {"FAIL": 1, "INCOMPLETE": 2}.get(self.verdict, 0)


def read_suites(paths: list[str]) -> list[Suite]:
    """Every testsuite of every file; an input that is not a JUnit file is a :class:`UsageError` saying why."""
    suites: list[Suite] = []
    for path in paths:
        root = _root(path)
        found = [root] if root.tag == "testsuite" else list(root.iter("testsuite")) if root.tag == "testsuites" else []
        if not found:
            raise UsageError(f"{path} is XML but not a JUnit file: no <testsuite> (its root is <{root.tag}>)")
        suites += [Suite(path, element, _contract_data(path, element)) for element in found]
    return suites


def _root(path: str) -> ET.Element:
    source = Path(path)
    if source.is_dir():
        inside = source / "junit.xml"
        hint = f"give its JUnit file, {inside}" if inside.is_file() else "give the JUnit files in it"
        raise UsageError(f"{path} is a directory: {hint}")
    try:
        return ET.parse(source).getroot()
    except FileNotFoundError as exc:
        raise UsageError(f"the JUnit file {path} does not exist") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ET.ParseError as exc:
        if not source.read_bytes().strip():
            raise UsageError(f"{path} is empty (did its job stop before it wrote its report?)") from exc
        raise UsageError(
            f"{path} is not XML ({exc}): give the JUnit files of sales-contract check --junit-xml or fuzz"
        ) from exc


def _contract_data(path: str, suite: ET.Element) -> dict[str, Any] | None:
    for prop in suite.iterfind("properties/property"):
        if prop.get("name") == PROPERTY:
            try:
                data = json.loads(prop.get("value") or "")
            except ValueError as exc:
                raise UsageError(f"{path}: its {PROPERTY} property is not JSON ({exc}); was the file edited?") from exc
            if not isinstance(data, dict):
                raise UsageError(f"{path}: its {PROPERTY} property is not a JSON object; was the file edited?")
            return data
    return None


def collect(suites: list[Suite]) -> Campaign:
    shards = {suite.source + str(suite.shard): _parse_shard(suite) for suite in suites if suite.shard}
    total = _split(suites)
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
    operations, checks = _outcomes(suites, "operations"), _outcomes(suites, "checks")
    campaign = Campaign(suites, total, missing, operations, checks, ordered, errors, _notes(suites))
    for suite in suites:
        for item in [*_records(suite, "notices"), *_records(suite, "notExercised")]:
            found = item.get("rules")
            rules = [str(rule) for rule in found] if isinstance(found, list) else [str(item.get("rule"))]
            listed = campaign.not_exercised.setdefault(str(item.get("reason")), [])
            listed += [rule for rule in rules if rule not in listed]
        for outcome in ("notCleaned", "closed"):
            known = campaign.left.setdefault(outcome, [])
            ids = {resource.get("id") for resource in known}
            known += [resource for resource in _records(suite, outcome) if resource.get("id") not in ids]
    return campaign


def _parse_shard(suite: Suite) -> tuple[int, int]:
    found = re.fullmatch(r"(\d{1,6})/(\d{1,6})", str(suite.shard))
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise UsageError(f"{suite.source} says it is shard {suite.shard!r}, which is not a shard I/N (1 <= I <= N)")
    return int(found.group(1)), int(found.group(2))


def _split(suites: list[Suite]) -> int | None:
    """The N of the campaign's ``--shard I/N`` (None: unsharded); files of different splits are a usage error."""
    files: dict[int, list[str]] = defaultdict(list)  # N (1: unsharded) -> the files of that split
    for suite in suites:
        if suite.data is not None:
            total = _parse_shard(suite)[1] if suite.shard else 1
            if suite.source not in files[total]:
                files[total].append(suite.source)
    if len(files) > 1:
        parts = [
            f"{'unsharded (no --shard)' if n == 1 else f'shards of {n} (--shard I/{n})'}: {_some(names)}"
            for n, names in sorted(files.items())
        ]
        raise UsageError(
            f"the files come from different splits, {'; '.join(parts)}: merge the files of one campaign, "
            "all unsharded or all with the same N"
        )
    return next((n for n in files if n > 1), None)


def _notes(suites: list[Suite]) -> list[str]:
    """Inputs that were merged but deserve a word: a shard given twice, a JUnit file without results."""
    notes = []
    by_shard: dict[str, list[str]] = defaultdict(list)
    for suite in suites:
        if suite.shard and suite.source not in by_shard[str(suite.shard)]:
            by_shard[str(suite.shard)].append(suite.source)
    for shard, names in sorted(by_shard.items()):
        if len(names) > 1:
            notes.append(f"shard {shard} comes from {len(names)} files ({_some(names)}): each is counted")
    plain = sorted({suite.source for suite in suites if suite.data is None})
    if plain:
        notes.append(
            f"no sales-contract results in {_some(plain)} (not written by sales-contract check or fuzz): "
            "its test counts are merged, its checks are not"
        )
    return notes


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


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


def write_tree(tree: ET.ElementTree[ET.Element], path: Path) -> None:
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
    left: list[dict[str, str]] | None = None,
) -> None:
    """A fuzz campaign's JUnit file: its rounds' JUnit files in one, plus a testsuite for the failures of a
    round that wrote no JUnit file (it saved each failure at once), for ``error``, why the campaign ended early,
    and for ``left``, what the campaign's last sweep could not clean."""
    from contract_tests.campaign import rerun_command
    from contract_tests.report import replay_command

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
            record["replay"] = replay_command(str(path), record.get("replay"))
            record["rerun"] = rerun_command(target, "fuzz", operation, record.get("seed"), None, writes, example_db)
            orphans.append(record)
    if orphans or error or left or len(suites) < len(rounds) or not suites:
        suites.append(_stopped_round(orphans, shard, target, example_db, error, left or []))
    output.parent.mkdir(parents=True, exist_ok=True)
    write_tree(merged_junit(suites), output)


def _stopped_round(
    failures: list[dict[str, Any]],
    shard: str | None,
    target: str,
    example_db: str | None,
    error: str | None,
    left: list[dict[str, str]],
) -> Suite:
    from contract_tests.campaign import FORMAT
    from contract_tests.campaign.exampledb import redacted

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
        "notCleaned": left,
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
