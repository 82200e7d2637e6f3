"""``sales-contract replay`` reproduces: a failure recorded from a broken server (a mutant of
``tests/mutants``) as a chain of requests replays on fresh state, reproduces against that server
and not against the true mock, and leaves nothing behind."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from contract_tests import cli
from contract_tests.cli.replay import judge, replay_chain
from contract_tests.client import SalesApi, make_http_client
from contract_tests.recording import Recording
from contract_tests.suite import scenarios
from contract_tests.target import MOCK_CLOCK, build_mock_app, mock_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mutants"))
from catalog import MutantMiddleware
from defects import MUTANTS

TARGET = mock_target("in-process mock")


def broken_app() -> Any:
    return MutantMiddleware(build_mock_app(), MUTANTS["float_rounding"])


def record_on_a_fresh_entity(app: Any) -> dict[str, Any]:
    """What the stateful layer saves: a chain in a temporary entity, the failing GET last."""
    with make_http_client(TARGET, app) as http:
        made = http.post("/__admin/entities", json={"name": "rec", "fixtures": "demo", "clock": MOCK_CLOCK}).json()
        entity, key = made["entityId"], made["apiKeys"]["readWrite"]
        api = SalesApi(replace(TARGET, entity_id=entity, api_key=key), http)
        # ``call``, not ``expect``: the suite's own oracle would stop at the first broken answer.
        customer = next(c for c in api.call("GET", "/customers").json()["data"] if c["currency"] == "USD")
        body = {"customerId": customer["id"], "lines": scenarios.TRICKY_LINES}
        quote = api.call("POST", "/quotes", json_body=body).json()
        api.call("PATCH", f"/quotes/{quote['id']}", json_body={"status": "sent"})
        api.call("GET", f"/quotes/{quote['id']}")
        assert [r.status_code for r in api.chain] == [200, 201, 200, 200]
        recording = Recording(entity, key)
        for response in api.chain:
            recording.add_httpx(response)
        last = api.chain[-1]
        record: dict[str, Any] = {
            "version": 2,
            "target": "in-process mock",
            "operation": "getQuote",
            "check": "stateful:sales_document_arithmetic",
            "message": "recorded by the test",
            "seed": 1,
            "curl": None,
            "kind": "check",
            "scope": "fresh",
            "test": None,
            "chain": recording.chain(),
        }
        # The server it was recorded from does break the check on that answer.
        step = {"method": "GET", "path": last.request.url.path, "query": {"entityId": entity}, "headers": {}}
        assert judge(record, step, last, TARGET, app), "the recorded answer should violate the check"
        http.delete(f"/__admin/entities/{entity}")
    return record


def entity_count(app: Any) -> int:
    with make_http_client(TARGET, app) as http:
        return len(http.get("/__admin/entities").json()["data"])


def test_a_stateful_chain_reproduces_on_the_broken_server_and_not_on_the_true_mock() -> None:
    broken = broken_app()
    record = record_on_a_fresh_entity(broken)
    text = json.dumps(record["chain"])
    assert "{{step1.data." in text and "{{step2.id}}" in text and "{{entityId}}" in text
    before = entity_count(broken)
    again = replay_chain(record, TARGET, app=broken)
    assert again.problem and "amount" in again.problem, again
    assert "fresh entity" in again.log[0] and entity_count(broken) == before, "the replay's entity is left behind"
    statuses = [line.split(" -> ")[1][:3] for line in again.log[1:]]
    assert statuses == ["200", "201", "200", "200"], again.log  # the chain was re-created, ids and all
    true_mock = build_mock_app()
    fixed = replay_chain(record, TARGET, app=true_mock)
    assert fixed.problem is None and not fixed.leftovers, fixed


def test_replay_command_exit_codes_and_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = record_on_a_fresh_entity(broken_app())
    path = tmp_path / "0001-failure.json"
    path.write_text(json.dumps(record))
    junit = tmp_path / "replay.xml"
    assert cli.main(["replay", str(path), "--target", "mock", "--junit-xml", str(junit)]) == 0
    assert "no longer reproduces" in capsys.readouterr().out
    assert "<testcase" in junit.read_text() and "<failure" not in junit.read_text()


def test_a_conformance_chain_on_the_entity_cleans_up_what_it_recreates() -> None:
    """Fresh resources (not a fresh entity): the replayed draft quote is deleted afterwards."""
    broken = broken_app()
    with make_http_client(TARGET, broken) as http:
        api = SalesApi(TARGET, http)
        customer = scenarios.customer(api)
        body = {"customerId": customer["id"], "lines": scenarios.TRICKY_LINES}
        quote = api.call("POST", "/quotes", json_body=body).json()
        recording = Recording(TARGET.entity_id, TARGET.api_key)
        recording.add_httpx(api.chain[-1])
        http.delete(
            f"/api/sales/quotes/{quote['id']}",
            params={"entityId": TARGET.entity_id},
            headers={"Authorization": f"Bearer {TARGET.api_key}"},
        )
        count = api.expect(200, "GET", "/quotes")["total"]
    record = {
        "operation": "createQuote",
        "check": "sales_document_arithmetic",
        "kind": "check",
        "scope": "entity",
        "chain": recording.chain(),
    }
    outcome = replay_chain(record, TARGET, app=broken)
    assert outcome.problem and not outcome.leftovers
    with make_http_client(TARGET, broken) as http:
        assert SalesApi(TARGET, http).expect(200, "GET", "/quotes")["total"] == count
