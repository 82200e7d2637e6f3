"""``sales-contract`` against servers started here, the way QA runs it against staging:

* a fuzz campaign with writes against a deliberately broken server finds, saves and replays its
  failures (they reproduce there and not on the true mock), is stopped by its ``--duration`` and
  leaves every resource collection as it found it, as far as the API allows;
* the same when the campaign is interrupted by SIGTERM;
* ``--admin-token`` for a mock that requires one (no silent loss of the clock checks);
* a throttled server: transient 429s are retried and reported, a persistent one is a violation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests import cli
from contract_tests.process import free_port, sales_mock_command, serve

HERE = Path(__file__).resolve().parents[2]  # tests/
CLI = [sys.executable, "-m", "contract_tests.cli"]
ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
KEY = "ak_demo_readwrite"
ENV = {**os.environ, "SALES_API_KEY": KEY, "SALES_API_ENTITY_ID": ENTITY, "PYTHONUNBUFFERED": "1"}
for name in ("SALES_API_BASE_URL", "SALES_ADMIN_TOKEN", "SALES_API_READONLY_KEY", "SALES_API_OTHER_KEY"):
    ENV.pop(name, None)
# A focused campaign: plans and quotes, few examples per round (the machine is shared). Each round
# runs the scenario tests touching these operations first, then the generated conformance cases.
CAMPAIGN = ["--allow-writes", "--max-examples", "8"]
OPEN = {"quotes": ("draft", "sent"), "orders": ("draft", "confirmed")}


def mutant_command(name: str, port: int) -> list[str]:
    return [sys.executable, str(HERE / "mutants" / "serve.py"), name, "--port", str(port)]


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """``sales-mock serve`` (``none``), a mutant by name, or the mock with an admin token (``token:T``)."""
    name = request.param
    port = free_port()
    if name == "none":
        command = sales_mock_command(port)
    elif name.startswith("token:"):
        command = [*sales_mock_command(port), "--admin-token", name.removeprefix("token:")]
    else:
        command = mutant_command(name, port)
    with serve(command, port, log_path=tmp_path / "server.log") as url:
        yield url


def census(url: str) -> dict[str, Any]:
    """Every resource collection of the demo entity (and the entities of /__admin), by id and status."""
    headers = {"Authorization": f"Bearer {KEY}"}
    found: dict[str, Any] = {}
    for kind in ("quotes", "orders", "plans", "subscriptions", "customers"):
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"entityId": ENTITY, "page": page, "pageSize": 100}
            body = httpx.get(f"{url}/api/sales/{kind}", params=params, headers=headers, timeout=30).json()
            items += body["data"]
            if "total" not in body or len(items) >= body["total"] or not body["data"]:
                break
            page += 1
        found[kind] = {item["id"]: item for item in items}
    found["entities"] = {entity["entityId"] for entity in _entities(url)}
    return found


def _entities(url: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = httpx.get(f"{url}/__admin/entities", timeout=30).json()["data"]
    return data


def assert_as_found(before: dict[str, Any], after: dict[str, Any], report: dict[str, Any]) -> None:
    """Nothing the run created is still open; what the API cannot remove is listed with why."""
    listed = {item["id"]: item["why"] for item in report["notCleaned"]}
    assert after["entities"] == before["entities"], "temporary entities left behind"
    assert after["customers"].keys() == before["customers"].keys()
    for kind in ("quotes", "orders", "plans", "subscriptions"):
        new = {rid: item for rid, item in after[kind].items() if rid not in before[kind]}
        still_open = [
            rid
            for rid, item in new.items()
            if (kind == "plans" and item.get("active"))
            or (kind == "subscriptions" and item.get("status") != "canceled")
            or item.get("status") in OPEN.get(kind, ())
        ]
        assert not still_open, f"{kind} the run left open: {still_open[:5]}"
        terminal = [rid for rid, item in new.items() if item.get("status") in ("accepted", "converted", "fulfilled")]
        assert all(rid in listed and listed[rid] for rid in terminal), (kind, terminal, listed)
        # Every open resource that was there before is untouched by a run that changes only its own.
        changed = [
            rid for rid, item in before[kind].items() if after[kind].get(rid, {}).get("status") != item.get("status")
        ]
        assert not changed, f"{kind} the run changed: {changed[:5]}"


def fuzz(url: str, output: Path, duration: str, operations: str, *extra: str) -> subprocess.Popen[str]:
    command = [*CLI, "fuzz", "--target", url, "--duration", duration, "--output", str(output), "--seed", "11"]
    return subprocess.Popen(
        [*command, *CAMPAIGN, "--operations", operations, *extra],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("server", ["created_200"], indirect=True)
def test_campaign_against_a_broken_server_finds_saves_replays_and_leaves_no_debris(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = census(server)
    junit = tmp_path / "fuzz.xml"
    process = fuzz(server, tmp_path / "out", "40s", "createPlan", "--junit-xml", str(junit))
    output, _ = process.communicate(timeout=240)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert process.returncode == 1 and report["failures"] > 0, output[-4000:]
    assert "<failure" in junit.read_text()
    # Said as the first round starts: the rules this target (no read-only key given) cannot serve.
    assert "NOT EXERCISED on this target" in output.split("round 1 ended")[0] and "no read-only key" in output
    assert_as_found(before, census(server), report)
    # Replay (in this process: no second interpreter start-up) a saved conformance failure.
    failures = sorted((tmp_path / "out" / "failures").glob("*.json"))
    saved = next(path for path in failures if json.loads(path.read_text())["check"] == "status_code_conformance")
    credentials = ["--api-key", KEY, "--entity-id", ENTITY]
    assert cli.main(["replay", str(saved), "--target", server, *credentials]) == 1
    port = free_port()
    with serve(sales_mock_command(port), port, log_path=tmp_path / "true.log") as true_mock:
        assert cli.main(["replay", str(saved), "--target", true_mock, *credentials]) == 0
    out = capsys.readouterr().out
    assert "REPRODUCES" in out and "no longer reproduces" in out
    assert_as_found(before, census(server), report)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["none"], indirect=True)
def test_a_campaign_stopped_by_sigterm_cleans_up(server: str, tmp_path: Path) -> None:
    before = census(server)
    process = fuzz(server, tmp_path / "out", "10m", "createPlan,patchPlan,createQuote,patchQuote")
    ledger = tmp_path / "out" / "ledger.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if ledger.is_file() and ledger.read_text().count('"created"') >= 3:
            break
        time.sleep(0.5)
    assert process.poll() is None, "the campaign ended before it was interrupted"
    assert ledger.read_text().count('"created"') >= 3, "the campaign created nothing to clean up"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["stoppedBy"] == "SIGTERM" and process.returncode == 2, output[-3000:]
    assert_as_found(before, census(server), report)


@pytest.mark.parametrize("server", ["token:s3cret"], indirect=True)
def test_admin_token_keeps_the_clock_checks(server: str, tmp_path: Path) -> None:
    one_test = "contract_tests/suite/test_time.py::test_sent_quote_expires_after_valid_until"  # a clock check
    base = [*CLI, "check", "--target", server, "--profile", "fast", "--allow-writes", "--test", one_test]
    without = subprocess.run(base, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert without.returncode == 0 and "needs a token: pass --admin-token" in without.stdout, without.stdout[-3000:]
    wrong = subprocess.run([*base, "--admin-token", "nope"], env=ENV, capture_output=True, text=True, check=False)
    assert wrong.returncode == 2 and "refused the admin token" in wrong.stderr
    env = {**ENV, "SALES_ADMIN_TOKEN": "s3cret"}
    right = subprocess.run(base, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert right.returncode == 0, right.stdout[-3000:]
    row = next(line for line in right.stdout.splitlines() if "test_sent_quote_expires_after_valid_until" in line)
    assert row.split()[0] == "ok" and "passed    1" in row and "not exercised   0" in row


@pytest.mark.parametrize("server", ["throttled"], indirect=True)
def test_throttling_is_retried_and_only_a_persistent_throttle_is_a_violation(server: str, tmp_path: Path) -> None:
    command = [*CLI, "check", "--target", server, "--profile", "fast", "--operations", "listQuotes,getDashboard"]
    result = subprocess.run(
        [*command, "--failures-dir", str(tmp_path)], env=ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 1 and "target throttled:" in result.stdout, result.stdout[-4000:]
    failed = {json.loads(path.read_text())["operation"] for path in tmp_path.glob("*.json")}
    assert failed and all("getDashboard" in operation for operation in failed), failed
    assert "listQuotes" not in failed  # throttled every third GET, retried: no violation of its own


def test_check_budget_bounds_the_run(tmp_path: Path) -> None:
    command = [*CLI, "check", "--target", "mock", "--profile", "fast", "--budget", "3s"]
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "of a 3s budget" in result.stdout and "budget spent:" in result.stdout, result.stdout[-2000:]
