"""``sales-contract check`` against correct servers that a careless suite trips over, and replays as printed.

Each server is a variant of the mock (``tests/mutants/variants.py``) served over HTTP on 127.0.0.1 and
checked as a URL target, the way a staging server built by another team is:

* a strict server that answers 400 to every query parameter its operation does not document: no false
  alarm, and nothing the suite sends of its own (preflight, scenarios, cleanup) carries one;
* a second entity with no sales data (customers only): the cross-entity rules are reported NOT EXERCISED,
  never passed, by a read-only run (terminal, JUnit file, HTML report), and exercised on drafts the suite
  creates there and deletes when it may write;
* a second entity with nothing at all: even a run that may write says why the rules were not exercised;
* a failure found on a broken server replays there, with the command ``check`` prints and the HTML report
  shows, and no secret given on the command line appears in anything the run wrote.
"""

from __future__ import annotations

import html as markup
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from livemock import DEMO_SUITE_ENV

from contract_tests.process import free_port, serve

HERE = Path(__file__).resolve().parents[2]  # tests/
CLI = [sys.executable, "-m", "contract_tests.cli"]
OTHER_ENTITY = DEMO_SUITE_ENV["SALES_API_OTHER_ENTITY_ID"]
OTHER_KEY = DEMO_SUITE_ENV["SALES_API_OTHER_KEY"]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SALES_API_", "SALES_ADMIN"))}
SUITE_ENV = {**CLEAN_ENV, **DEMO_SUITE_ENV, "PYTHONUNBUFFERED": "1"}
FAST = ["--profile", "fast"]
CROSS_ENTITY = ("test_another_entitys_resource_is_404", "test_dashboard_counts_only_this_entity")


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A variant (or mutant) of ``tests/mutants`` by name, on a free port."""
    port = free_port()
    command = [sys.executable, str(HERE / "mutants" / "serve.py"), request.param, "--port", str(port)]
    with serve(command, port, log_path=tmp_path / "server.log") as url:
        yield url


def check(url: str, *args: str, env: dict[str, str] = SUITE_ENV) -> subprocess.CompletedProcess[str]:
    command = [*CLI, "check", "--target", url, *FAST, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def row(output: str, rule: str) -> list[str]:
    """The summary row of ``rule``: its status, then its counts."""
    line = next(line for line in output.splitlines() if re.match(rf"^  \S.* {rule} ", line))
    return line.split()


def reason_of(output: str, rule: str) -> str:
    """The reason the NOT EXERCISED section gives for ``rule``."""
    section = output.split("NOT EXERCISED (", 1)[1]
    for reason, rules in re.findall(r"^  - (.*):\n      (.*)$", section, flags=re.M):
        if rule in rules.split(", "):
            return str(reason)
    raise AssertionError(f"{rule} is not in the NOT EXERCISED section:\n{section[:3000]}")


def their(url: str, kind: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{url}/api/sales/{kind}", params={"entityId": OTHER_ENTITY}, headers={"Authorization": f"Bearer {OTHER_KEY}"}
    )
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


@pytest.mark.slow
@pytest.mark.parametrize("server", ["strict_parameters"], indirect=True)
def test_a_strict_server_raises_no_false_alarm(server: str) -> None:
    headers = {"Authorization": f"Bearer {DEMO_SUITE_ENV['SALES_API_KEY']}"}
    entity = {"entityId": DEMO_SUITE_ENV["SALES_API_ENTITY_ID"]}
    # The server is strict: the preflight of old (pageSize on listCustomers) and an unknown body property are 400.
    assert (
        httpx.get(f"{server}/api/sales/customers", params={**entity, "pageSize": 1}, headers=headers).status_code == 400
    )
    plan = {"code": "strict", "name": "S", "currency": "USD", "amount": 1, "interval": "month", "bogus": 1}
    assert httpx.post(f"{server}/api/sales/plans", params=entity, headers=headers, json=plan).status_code == 400
    before = len(httpx.get(f"{server}/__mutant/log").json()["data"])
    result = check(server, "--allow-writes")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "violation(s):" not in result.stdout  # false alarm count 0
    refused = httpx.get(f"{server}/__mutant/log").json()["data"][before:]
    # Only Schemathesis' negative cases (which add unknown parameters on purpose) were refused; a positive
    # case refused would have failed positive_data_acceptance, a request of the suite's own a scenario or
    # the cleanup ("could not be cleaned" lists only what the API cannot close).
    assert all(entry["generated"] for entry in refused), [e for e in refused if not e["generated"]]
    uncleaned = re.search(r"(\d+) could not be cleaned\n((?:  - .*\n)*)", result.stdout)
    assert uncleaned and all("left in status" in line for line in uncleaned.group(2).splitlines()), result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("server", ["empty_second_entity"], indirect=True)
def test_a_second_entity_without_sales_data_is_not_exercised_read_only_and_exercised_with_writes(
    server: str, tmp_path: Path
) -> None:
    junit = tmp_path / "read-only.xml"
    read_only = check(server, "--junit-xml", str(junit))
    assert read_only.returncode == 0, read_only.stdout[-4000:]
    out = read_only.stdout
    rule = "test_another_entitys_resource_is_404"
    assert "NOT EXERCISED on this target" in out.split("Contract summary")[0]  # the upfront notice
    assert row(out, rule)[:5] == ["NOT", "EXERCISED", rule, "passed", "0"]
    why = reason_of(out, rule)
    assert "second entity holds no quotes, orders, plans or subscriptions" in why and "--allow-writes" in why
    xml = junit.read_text()
    assert f'message="NOT EXERCISED: {why}"' in xml.replace("&#10;", " ")
    assert 'name="sales-contract-not-exercised"' in xml and rule in xml
    html = tmp_path / "report.html"
    merged = subprocess.run([*CLI, "report", "merge", str(html), str(junit)], capture_output=True, text=True)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    page = html.read_text()
    listed = page.split('id="not-exercised-list"', 1)[1].split("</ul>", 1)[0]
    assert rule in listed and "second entity holds no quotes" in listed
    assert f'data-check="{rule}"><td>{rule}</td><td class="n">0</td>' in page

    writes = check(server, "--allow-writes")
    assert writes.returncode == 0, writes.stdout[-4000:]
    for name in (*CROSS_ENTITY, "test_nothing_leaks_across_entities"):
        status, _, _, passed = row(writes.stdout, name)[:4]
        assert (status, int(passed) > 0) == ("ok", True), row(writes.stdout, name)
        assert name not in writes.stdout.split("NOT EXERCISED (", 1)[-1].split("cleanup:")[0]
    # What the run created there (drafts the API deletes) is gone again.
    assert their(server, "quotes") == [] and their(server, "orders") == [] and their(server, "plans") == []


@pytest.mark.slow
@pytest.mark.parametrize("server", ["bare_second_entity"], indirect=True)
def test_a_second_entity_with_nothing_at_all_is_not_exercised_even_with_writes(server: str) -> None:
    result = check(server, "--allow-writes", "--operations", "getDashboard,getQuote,listQuotes")
    assert result.returncode == 0, result.stdout[-4000:]
    for rule in (*CROSS_ENTITY, "test_nothing_leaks_across_entities"):
        assert row(result.stdout, rule)[:2] == ["NOT", "EXERCISED"], row(result.stdout, rule)
        assert "no customer to create one for" in reason_of(result.stdout, rule)


SECRETS = {
    "--api-key": "SALES_API_KEY",
    "--entity-id": "SALES_API_ENTITY_ID",
    "--readonly-key": "SALES_API_READONLY_KEY",
    "--other-entity-id": "SALES_API_OTHER_ENTITY_ID",
    "--other-key": "SALES_API_OTHER_KEY",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("server", "check_name"),
    [("readonly_writes", "test_read_only_key_cannot_write"), ("created_200", "status_code_conformance")],
    indirect=["server"],
)
def test_a_failure_replays_where_it_was_found_with_the_printed_command(
    server: str, check_name: str, tmp_path: Path
) -> None:
    """Credentials given as options only; the printed replay command, run by a shell whose
    ``$SALES_API_BASE_URL`` points elsewhere, reproduces the failure on the server it was found on."""
    options = [part for option, name in SECRETS.items() for part in (option, DEMO_SUITE_ENV[name])]
    failures, junit = tmp_path / "failures", tmp_path / "contract.xml"
    found = check(
        server,
        "--allow-writes",
        "--operations",
        "createPlan",
        "--failures-dir",
        str(failures),
        "--junit-xml",
        str(junit),
        *options,
        env={**CLEAN_ENV, "PYTHONUNBUFFERED": "1"},
    )
    assert found.returncode == 1, found.stdout[-4000:]
    written = [found.stdout, found.stderr, junit.read_text(), *(p.read_text() for p in failures.glob("*.json"))]
    for secret in ("SALES_API_KEY", "SALES_API_READONLY_KEY", "SALES_API_OTHER_KEY"):
        assert not any(DEMO_SUITE_ENV[secret] in text for text in written), f"{secret} leaked"
    record = next(json.loads(p.read_text()) for p in failures.glob("*.json") if check_name in p.name)
    assert record["replay"]["target"] == server
    assert {"SALES_API_KEY", "SALES_API_ENTITY_ID"} <= set(record["replay"]["credentials"])
    printed = next(
        line.split("replay: ", 1)[1]
        for line in found.stdout.splitlines()
        if "replay: sales-contract replay" in line and check_name in line
    )
    assert printed.endswith("# needs " + ", ".join(f"${name}" for name in record["replay"]["credentials"]))
    html = tmp_path / "report.html"
    subprocess.run([*CLI, "report", "merge", str(html), str(junit)], capture_output=True, check=False)
    assert f'<pre class="replay">{markup.escape(printed)}</pre>' in html.read_text()  # the same command

    shell = {**CLEAN_ENV, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    shell["SALES_API_BASE_URL"] = f"http://127.0.0.1:{free_port()}"  # another target: the recorded one wins
    missing = subprocess.run(["bash", "-c", printed], env=shell, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "$SALES_API_KEY" in missing.stderr, missing.stdout + missing.stderr
    replayed = subprocess.run(
        ["bash", "-c", printed], env={**shell, **DEMO_SUITE_ENV}, capture_output=True, text=True, timeout=300
    )
    assert replayed.returncode == 1 and "REPRODUCES" in replayed.stdout, replayed.stdout[-3000:] + replayed.stderr
    assert f"against the recorded target {server}" in replayed.stdout
