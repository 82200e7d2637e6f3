"""A QA campaign spread over CI jobs, end to end: two shards against a deliberately broken server, one
Redis example database shared by them (Debian's redis-server on a free loopback port), their JUnit files
merged into one JUnit file and one HTML report read in headless Chromium; then a later job that tries
the failure the campaign found first.

CI installs redis-server and chromium with ``scripts/ci-system-deps.sh``; elsewhere the tests skip without them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browser_support import dump_dom, needs_chromium
from livemock import DEMO_SUITE_ENV

from contract_tests.campaign.sharding import spec_operations
from contract_tests.cli import main
from contract_tests.process import free_port, serve

pytestmark = [pytest.mark.live, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
REDIS_SERVER = Path("/usr/bin/redis-server")
MUTANT = "error_leaks_trace"  # validation errors carry a traceback: found by generated (invalid) requests
OPERATIONS = ["createPlan", "listPlans", "patchPlan", "patchQuote"]
needs_redis = pytest.mark.skipif(not REDIS_SERVER.exists(), reason="needs redis-server (scripts/ci-system-deps.sh)")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server on a free loopback port, nothing saved to disk; stopped afterwards."""
    if not REDIS_SERVER.exists():
        pytest.skip("needs redis-server (scripts/ci-system-deps.sh)")
    import redis

    port, workdir = free_port(), tmp_path_factory.mktemp("redis")
    command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def broken_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, str(ROOT / "tests" / "mutants" / "serve.py"), MUTANT, "--port", str(port)]
    with serve(command, port, log_path=tmp_path_factory.mktemp("mutant") / "server.log") as url:
        yield url


def sales_contract(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "contract_tests.cli", *args]
    env = {**os.environ, **DEMO_SUITE_ENV}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def failures_in(directory: Path) -> dict[tuple[str, str], str]:
    """(operation, check) -> curl of each failure file a run saved."""
    found = {}
    for path in directory.glob("*.json"):
        record = json.loads(path.read_text())
        found[(record["operation"], record["check"])] = record["curl"]
    return found


def junit_cases(junit: Path) -> set[str]:
    return {case.get("name", "") for case in ET.parse(junit).getroot().iter("testcase")}


@needs_redis
@needs_chromium
def test_two_shard_campaign_shares_one_redis_database_and_merges_into_one_report(
    broken_server: str, redis_url: str, tmp_path: Path
) -> None:
    common = ["--target", broken_server, "--profile", "fast", "--allow-writes", "--example-db", redis_url]

    def shard(index: int) -> subprocess.CompletedProcess[str]:
        junit, failures = tmp_path / f"shard-{index}.xml", tmp_path / f"failures-{index}"
        selection = ["--operations", ",".join(OPERATIONS), "--shard", f"{index}/2"]
        return sales_contract("check", *common, *selection, "--junit-xml", str(junit), "--failures-dir", str(failures))

    with ThreadPoolExecutor(max_workers=2) as pool:  # two CI matrix jobs at once
        runs = list(pool.map(shard, (1, 2)))

    found = [failures_in(tmp_path / f"failures-{index}") for index in (1, 2)]
    for index, (run, failures) in enumerate(zip(runs, found, strict=True), start=1):
        assert run.returncode == (1 if failures else 0), run.stdout[-4000:] + run.stderr[-2000:]
        assert f"shard {index}/2" in run.stdout.strip().splitlines()[-1], run.stdout[-500:]
        assert re.search(rf"^shard {index}/2: \d+ of \d+ unit", run.stdout, re.M)
    assert found[0] and found[1], "the broken server fails operations of both shards"

    # The two jobs ran disjoint work, and together every selected operation's conformance cases.
    cases = [junit_cases(tmp_path / f"shard-{index}.xml") for index in (1, 2)]
    umbrella = re.compile(r"^test_conformance\[[^\]]*\]$")
    mine = [{case for case in shard_cases if not umbrella.match(case)} for shard_cases in cases]
    assert not mine[0] & mine[1]
    paths = {f"{method} {path}" for op, (method, path) in _operations().items() if op in OPERATIONS}
    tested = {case.rsplit("[", 1)[1].rstrip("]") for case in mine[0] | mine[1] if case.startswith("test_conformance[")}
    assert tested == paths

    # Hypothesis saved what the jobs found in the shared Redis database.
    import redis

    assert list(redis.Redis.from_url(redis_url).scan_iter(match=b"sales-contract:*"))

    report = tmp_path / "campaign.html"
    assert main(["report", "merge", str(report), str(tmp_path / "shard-1.xml"), str(tmp_path / "shard-2.xml")]) == 1
    merged = ET.parse(report.with_suffix(".xml")).getroot()
    suites = merged.findall("testsuite")
    assert [s.get("name") for s in suites] == ["pytest (shard 1/2)", "pytest (shard 2/2)"]
    assert int(merged.get("failures", "0")) == sum(int(s.get("failures", "0")) for s in suites) > 0

    dom = dump_dom(report.resolve().as_uri(), budget_ms=5000)
    assert re.search(r'id="verdict"[^>]*>FAIL<', dom)
    every = {**found[0], **found[1]}
    sections = Counter(re.findall(r'<section class="failure"[^>]*data-operation="([^"]*)" data-check="([^"]*)"', dom))
    assert set(sections) == set(every) and set(sections.values()) == {1}, sections
    text = dom.replace("&amp;", "&").replace("&quot;", '"').replace("&#39;", "'")
    for (operation, check), curl in every.items():
        assert text.count(f"{operation} / {check}</h3>") == 1
        assert curl.split(" -d ")[0] in text  # the curl line (its body is escaped for HTML)
    assert text.count("sales-contract check --target") >= len(every)  # each failure's re-run command
    for operation in OPERATIONS:
        assert f'<tr class="failed" data-operation="{operation}">' in dom or f'data-operation="{operation}"><td>' in dom
    assert not re.search(r"<(script|link|img|iframe)\b", dom), "the report is self-contained"

    # A later job (another split, another seed) tries first what the campaign found: with the shared database it
    # sends the very request that failed, where the same job without the database finds another one.
    # Shard 2/2 of a createPlan-only split: createPlan's conformance cases without the security scenarios.
    base = ["check", *common[:-2], "--seed", "99", "--operations", "createPlan", "--shard", "2/2"]  # no --example-db
    with ThreadPoolExecutor(max_workers=2) as pool:
        later, alone = pool.map(
            lambda job: _run_in(tmp_path / job[0], [*base, *job[1]]),
            [("later", ["--example-db", redis_url]), ("alone", [])],
        )
    assert re.search(r"^shard 2/2: .*conformance:createPlan", later[1], re.M), later[1][-2000:]
    generated = {key: curl for key, curl in every.items() if key[0] == "createPlan" and alone[2].get(key) != curl}
    assert generated, "a failure the campaign found by generation (its request depends on the seed)"
    assert later[0] == 1, later[1]
    for key, curl in generated.items():
        assert later[2].get(key) == curl, f"{key}: the later job did not try the campaign's failure first"


def _run_in(directory: Path, args: list[str]) -> tuple[int, str, dict[tuple[str, str], str]]:
    run = sales_contract(*args, "--failures-dir", str(directory))
    return run.returncode, run.stdout + run.stderr[-2000:], failures_in(directory)


def _operations() -> dict[str, tuple[str, str]]:
    import yaml

    raw = yaml.safe_load((ROOT / "openapi" / "sales.yaml").read_text())
    methods = spec_operations(ROOT / "openapi" / "sales.yaml")
    found = {}
    for path, item in raw["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") in methods:
                found[operation["operationId"]] = (method.upper(), path)
    return found


def test_a_fuzz_shard_names_its_shard_and_writes_one_junit_file_for_its_rounds(
    broken_server: str, tmp_path: Path
) -> None:
    """``fuzz`` takes the same options: a short sharded campaign with a directory database, exit 1 on the defect."""
    output, database = tmp_path / "fuzz-2", tmp_path / "example-db"
    run = sales_contract(
        "fuzz", "--target", broken_server, "--allow-writes",
        "--duration", "45s", "--max-examples", "3", "--seed", "5",
        "--operations", "createPlan", "--shard", "2/2", "--example-db", str(database), "--output", str(output),
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-2000:]
    assert "shard 2/2" in run.stdout.splitlines()[0] and re.search(r"^fuzz report: .*shard 2/2", run.stdout, re.M)
    assert json.loads((output / "report.json").read_text())["shard"] == "2/2"
    assert database.is_dir()
    suites = list(ET.parse(output / "junit.xml").getroot().iter("testsuite"))
    assert suites and int(suites[0].get("failures", "0")) > 0
    report = tmp_path / "fuzz.html"
    assert main(["report", "merge", str(report), str(output / "junit.xml")]) == 1  # a violation, shard 1/2 missing
    page = report.read_text()
    assert 'id="verdict">FAIL<' in page and "createPlan / " in page and "missing: 1/2" in page
