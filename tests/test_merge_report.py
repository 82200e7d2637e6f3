"""``sales-contract report merge``: shard JUnit files -> one JUnit file and one self-contained HTML page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from contract_tests.cli import main
from contract_tests.merge_report import PROPERTY, junit_for_rounds

CURL = "curl -X POST -H 'Authorization: Bearer $SALES_API_KEY' -d '{\"code\": \"<b>x</b>\"}' 'http://127.0.0.1:1/api/sales/plans'"


def failure(operation: str, check: str, message: str = "boom", seed: int = 7) -> dict[str, Any]:
    rerun = f"sales-contract check --target mock --profile fast --seed {seed} --operations {operation}"
    record = {"target": "mock", "operation": operation, "check": check, "message": message, "curl": CURL}
    return {**record, "seed": seed, "rerun": rerun, "file": None}


def shard_file(
    path: Path, shard: str | None, failures: list[dict[str, Any]], operations: dict[str, dict[str, int]]
) -> Path:
    data = {"format": 1, "shard": shard, "seed": 7, "profile": "fast", "target": "mock", "exampleDb": None}
    data |= {"operations": operations, "failures": failures}
    suite = ET.Element("testsuite", name="pytest", tests="3", failures=str(len(failures)), errors="0", skipped="1")
    suite.set("time", "1.5")
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name=PROPERTY, value=json.dumps(data))
    for index in range(3):
        case = ET.SubElement(suite, "testcase", name=f"test_{shard}_{index}", classname="contract_tests.x")
        if index < len(failures):
            ET.SubElement(case, "failure", message="failed").text = "details"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    both = failure("createPlan", "status_code_conformance", "<script>alert(1)</script> 200 is not documented")
    return [
        shard_file(
            tmp_path / "a.xml",
            "1/2",
            [both, failure("listQuotes", "pagination_consistency")],
            {"createPlan": {"passed": 2, "failed": 1, "skipped": 0}, "listQuotes": {"passed": 0, "failed": 1}},
        ),
        shard_file(
            tmp_path / "b.xml",
            "2/2",
            [{**both, "seed": 8}, failure("createQuote,getQuote", "test_quote_status_transitions")],
            {"createPlan": {"passed": 1, "failed": 1}, "getQuote": {"passed": 4, "failed": 1, "skipped": 2}},
        ),
    ]


def test_merge_names_every_failure_once_and_sums_the_junit_files(
    shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report" / "campaign.html"
    assert main(["report", "merge", str(out), *map(str, shards)]) == 1
    page = out.read_text()
    assert page.count('<section class="failure"') == 3
    assert page.count("createPlan / status_code_conformance</h3>") == 1
    assert "found in shard 1/2 (seed 7), shard 2/2 (seed 8)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page  # the curl line, escaped
    assert page.count("sales-contract check --target mock --profile fast --seed") == 3  # each re-run command
    row = re.search(r'<tr class="failed" data-operation="createPlan">(.*?)</tr>', page)
    assert row and re.findall(r'class="n">(\d+)<', row.group(1)) == ["3", "2", "0"]
    assert 'data-operation="getQuote"' in page and 'data-operation="createQuote"' in page
    merged = ET.parse(out.with_suffix(".xml")).getroot()
    assert merged.tag == "testsuites" and merged.get("tests") == "6" and merged.get("failures") == "4"
    assert [s.get("name") for s in merged.iter("testsuite")] == ["pytest (shard 1/2)", "pytest (shard 2/2)"]
    assert "3 violation(s): FAIL" in capsys.readouterr().out


def test_a_merged_file_merges_again(shards: list[Path], tmp_path: Path) -> None:
    first = tmp_path / "first.html"
    assert main(["report", "merge", str(first), str(shards[0])]) == 1
    again = tmp_path / "again.html"
    assert main(["report", "merge", str(again), str(first.with_suffix(".xml")), str(shards[1])]) == 1
    assert again.read_text().count('<section class="failure"') == 3
    assert "pytest (shard 1/2)" in again.with_suffix(".xml").read_text()


def test_a_missing_shard_is_incomplete_and_exit_2(tmp_path: Path) -> None:
    clean = shard_file(tmp_path / "a.xml", "1/3", [], {"getQuote": {"passed": 3, "failed": 0, "skipped": 0}})
    out = tmp_path / "r.html"
    assert main(["report", "merge", str(out), str(clean)]) == 2
    assert 'id="verdict">INCOMPLETE<' in out.read_text() and "missing: 2/3, 3/3" in out.read_text()


def test_a_complete_clean_campaign_passes(tmp_path: Path) -> None:
    files = [shard_file(tmp_path / f"{i}.xml", f"{i}/2", [], {"getQuote": {"passed": 1}}) for i in (1, 2)]
    out = tmp_path / "r.html"
    assert main(["report", "merge", str(out), *map(str, files)]) == 0
    assert 'id="verdict">PASS<' in out.read_text()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("<not-junit/>", "no <testsuite>"),
        ("this is not xml", "not a readable JUnit XML file"),
        (f'<testsuite><properties><property name="{PROPERTY}" value="{{oops"/></properties></testsuite>', "not JSON"),
    ],
)
def test_bad_input_is_a_usage_error(
    tmp_path: Path, content: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(content)
    assert main(["report", "merge", str(tmp_path / "r.html"), str(bad)]) == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = shard_file(tmp_path / "a.xml", "1/2", [], {})
    other = shard_file(tmp_path / "b.xml", "1/3", [], {})
    assert main(["report", "merge", str(tmp_path / "r.html"), str(one), str(other)]) == 2
    assert "different splits" in capsys.readouterr().err
    assert main(["report", "merge", str(tmp_path / "r.html"), str(tmp_path / "nope.xml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", "merge", str(tmp_path / "r.html"), str(one), "--junit-xml", str(one)]) == 2
    assert "must not overwrite an input" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["report", "merge", str(tmp_path / "r.html")])
    assert exited.value.code == 2


def test_the_page_has_a_table_per_check(shards: list[Path], tmp_path: Path) -> None:
    for path, checks in zip(shards, ({"status_code_conformance": {"passed": 5, "failed": 1}}, {}), strict=True):
        tree = ET.parse(path)
        prop = next(tree.getroot().iter("property"))
        data = json.loads(prop.get("value", ""))
        prop.set("value", json.dumps({**data, "checks": checks}))
        tree.write(path)
    out = tmp_path / "r.html"
    main(["report", "merge", str(out), *map(str, shards)])
    row = re.search(r'<tr class="failed" data-check="status_code_conformance">(.*?)</tr>', out.read_text())
    assert row and re.findall(r'class="n">(\d+)<', row.group(1)) == ["5", "1", "0"]


def test_a_malformed_shard_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = shard_file(tmp_path / "a.xml", "3/2", [], {})
    assert main(["report", "merge", str(tmp_path / "r.html"), str(bad)]) == 2
    assert "not a shard" in capsys.readouterr().err


def test_fuzz_rounds_become_one_junit_file_with_the_stopped_rounds_failures(tmp_path: Path) -> None:
    failures = tmp_path / "out" / "failures"
    failures.mkdir(parents=True)
    known = failures / "0001-status_code_conformance-createPlan.json"
    known.write_text(json.dumps(failure("createPlan", "status_code_conformance")))
    stopped = failure("listQuotes", "not_a_server_error", "body \x01\x02 \ud83d half a surrogate")
    (failures / "0001-not_a_server_error-listQuotes.json").write_text(json.dumps(stopped))
    round_1 = shard_file(tmp_path / "round-1.xml", "2/2", [{**failure("createPlan", "status_code_conformance")}], {})
    tree = ET.parse(round_1)
    prop = next(tree.getroot().iter("property"))
    data = json.loads(prop.get("value", ""))
    data["failures"][0]["file"] = str(known)
    prop.set("value", json.dumps(data))
    tree.write(round_1)
    rounds = [round_1, tmp_path / "round-2.xml"]  # round 2 was stopped before it wrote its file
    where = {"target": "http://127.0.0.1:1", "shard": "2/2", "example_db": None, "writes": True}
    junit_for_rounds(rounds, failures, tmp_path / "out" / "junit.xml", **where)
    suites = list(ET.parse(tmp_path / "out" / "junit.xml").getroot().iter("testsuite"))
    assert [s.get("name") for s in suites] == ["pytest (shard 2/2)", "sales-contract fuzz (shard 2/2)"]
    assert suites[1].get("failures") == "1"
    out = tmp_path / "r.html"
    assert main(["report", "merge", str(out), str(tmp_path / "out" / "junit.xml")]) == 1
    page = out.read_text()
    assert "listQuotes / not_a_server_error</h3>" in page and "createPlan / status_code_conformance</h3>" in page
    assert "--profile fuzz --seed 7 --allow-writes --operations listQuotes" in page
