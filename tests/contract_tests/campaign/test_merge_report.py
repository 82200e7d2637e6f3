"""``sales-contract report merge``: shard JUnit files -> one JUnit file and one self-contained HTML page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from contract_tests.campaign.merge_report import PROPERTY, junit_for_rounds
from contract_tests.cli import main

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
        ("<not-junit/>", "is XML but not a JUnit file: no <testsuite> (its root is <not-junit>)"),
        ("this is not xml", "is not XML (syntax error: line 1, column 0): give the JUnit files of sales-contract"),
        ("  \n", "is empty (did its job stop before it wrote its report?)"),
        (f'<testsuite><properties><property name="{PROPERTY}" value="{{oops"/></properties></testsuite>', "not JSON"),
        (f'<testsuite><properties><property name="{PROPERTY}" value="[1]"/></properties></testsuite>', "a JSON object"),
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
    assert main(["report", "merge", str(tmp_path / "r.html"), str(tmp_path / "nope.xml")]) == 2
    assert f"the JUnit file {tmp_path}/nope.xml does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["report", "merge", str(tmp_path / "r.html")])
    assert exited.value.code == 2 and "the following arguments are required: JUNIT.xml" in capsys.readouterr().err
    (tmp_path / "sub").mkdir()
    assert main(["report", "merge", str(tmp_path / "r.html"), str(one), f"{tmp_path}/sub/../a.xml"]) == 2
    assert f"{tmp_path}/sub/../a.xml is given twice (also as {one}); give each file once" in capsys.readouterr().err


def test_the_files_of_different_splits_are_named_with_their_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unsharded run says so (it was the cryptic "/1" once); each split lists its files."""
    unsharded = shard_file(tmp_path / "full.xml", None, [], {})
    halves = [shard_file(tmp_path / f"half-{i}.xml", f"{i}/2", [], {}) for i in (1, 2)]
    third = shard_file(tmp_path / "third.xml", "1/3", [], {})
    assert main(["report", "merge", str(tmp_path / "r.html"), str(unsharded), *map(str, halves)]) == 2
    err = capsys.readouterr().err
    assert (
        f"different splits, unsharded (no --shard): {unsharded}; shards of 2 (--shard I/2): {halves[0]}, {halves[1]}"
        in err
    )
    assert "merge the files of one campaign, all unsharded or all with the same N" in err and "/1" not in err
    assert main(["report", "merge", str(tmp_path / "r.html"), str(halves[0]), str(third)]) == 2
    assert f"shards of 2 (--shard I/2): {halves[0]}; shards of 3 (--shard I/3): {third}" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("output", "junit", "problem"),
    [
        ("r.xml", None, "the report {tmp}/r.xml must end in .html: the first argument is the HTML page to write"),
        ("report", None, "the report {tmp}/report must end in .html"),
        (
            "a.html",
            None,
            "the merged JUnit file {tmp}/a.xml would overwrite the input {tmp}/a.xml (the merged JUnit "
            "file is OUT.html with .xml): pass --junit-xml with another path",
        ),
        (
            "r.html",
            "a.xml",
            "the merged JUnit file {tmp}/a.xml would overwrite the input {tmp}/a.xml (--junit-xml names an input)",
        ),
    ],
)
def test_each_bad_output_says_what_is_wrong(
    tmp_path: Path, output: str, junit: str | None, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    one = shard_file(tmp_path / "a.xml", "1/2", [], {})
    before = one.read_bytes()
    extra = ["--junit-xml", str(tmp_path / junit)] if junit else []
    assert main(["report", "merge", str(tmp_path / output), str(one), *extra]) == 2
    assert problem.format(tmp=tmp_path) in capsys.readouterr().err
    assert one.read_bytes() == before


def test_a_directory_input_points_at_its_junit_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    campaign = tmp_path / "fuzz-1"
    campaign.mkdir()
    assert main(["report", "merge", str(tmp_path / "r.html"), str(campaign)]) == 2
    assert f"{campaign} is a directory: give the JUnit files in it" in capsys.readouterr().err
    shard_file(campaign / "junit.xml", "1/1", [], {})
    assert main(["report", "merge", str(tmp_path / "r.html"), str(campaign)]) == 2
    assert f"{campaign} is a directory: give its JUnit file, {campaign}/junit.xml" in capsys.readouterr().err


def test_sources_are_labelled_by_shard_else_by_their_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Shard files say "shard 2/2" whatever their names; unsharded campaigns (every one a ``junit.xml``) by path."""
    for index in (1, 2):
        (tmp_path / f"fuzz-{index}").mkdir()
        shard_file(
            tmp_path / f"fuzz-{index}" / "junit.xml", None, [failure("createPlan", "status_code_conformance")], {}
        )
    out = tmp_path / "r.html"
    paths = [str(tmp_path / f"fuzz-{index}" / "junit.xml") for index in (1, 2)]
    assert main(["report", "merge", str(out), *paths]) == 1
    found_in = f"found in {paths[0]} (seed 7), {paths[1]} (seed 7)"
    assert found_in in out.read_text() and f"from: {paths[0]}, {paths[1]}" in capsys.readouterr().out
    sharded = [shard_file(tmp_path / name, f"{i}/2", [], {}) for i, name in ((1, "x.xml"), (2, "y.xml"))]
    assert main(["report", "merge", str(out), *map(str, sharded)]) == 0
    assert "from: shard 1/2, shard 2/2" in capsys.readouterr().out


def test_inputs_worth_a_word_are_merged_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = shard_file(tmp_path / "a.xml", "1/2", [], {"getQuote": {"passed": 1}})
    again = shard_file(tmp_path / "a-rerun.xml", "1/2", [], {"getQuote": {"passed": 1}})
    second = shard_file(tmp_path / "b.xml", "2/2", [], {"getQuote": {"passed": 1}})
    plain = tmp_path / "plain.xml"
    plain.write_text('<testsuite name="pytest" tests="1"><testcase name="test_x"/></testsuite>')
    out = tmp_path / "r.html"
    assert main(["report", "merge", str(out), str(first), str(again), str(second), str(plain)]) == 0
    text = capsys.readouterr().out
    assert f"note: shard 1/2 comes from 2 files ({first}, {again}): each is counted" in text
    assert f"note: no sales-contract results in {plain} (not written by sales-contract check or fuzz)" in text
    assert 'id="notes"' in out.read_text() and "shard 1/2 comes from 2 files" in out.read_text()


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
    assert f"{bad} says it is shard '3/2', which is not a shard I/N (1 <= I <= N)" in capsys.readouterr().err


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
