"""Fault injection: rule validation, reproducible choices, and the effect on requests."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from control_plane_client import client, make_app, new_entity, sales_get

from mock_server.control.faults import ConnectionDropped, Faults
from mock_server.domain.errors import InvalidInput


def _decisions(seed: int, n: int = 50) -> list[Any]:
    faults = Faults()
    faults.configure({"rules": [{"status": 503, "probability": 0.5, "jitterMs": 20}], "seed": seed})
    return [faults.decide("listPlans") for _ in range(n)]


def test_a_seed_makes_choices_reproducible() -> None:
    assert _decisions(7) == _decisions(7)
    assert _decisions(7) != _decisions(8)
    fired = [d for d in _decisions(7, 400) if d is not None]
    assert 150 < len(fired) < 250
    assert all(0 <= d.delay_ms <= 20 for d in fired)


def test_rules_match_by_operation_first_applicable_wins() -> None:
    faults = Faults()
    faults.configure({"rules": [{"operationId": "createQuote", "status": 500}, {"latencyMs": 5}]})
    create, other = faults.decide("createQuote"), faults.decide("listPlans")
    assert create is not None and create.status == 500 and create.rule_index == 0
    assert other is not None and other.status is None and other.delay_ms == 5


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"rules": "x"},
        {"rules": [{"status": 200}]},
        {"rules": [{"probability": 2}]},
        {"rules": [{"latencyMs": -1}]},
        {"rules": [{"drop": "yes"}]},
        {"rules": [{"status": 500, "drop": True}]},
        {"rules": [{"colour": "red"}]},
        {"rules": [], "seed": "x"},
    ],
)
def test_bad_rules_change_nothing(document: Any) -> None:
    faults = Faults()
    faults.configure({"rules": [{"status": 503}], "seed": 1})
    with pytest.raises(InvalidInput):
        faults.configure(document)
    assert faults.to_json()["rules"] == [
        {"status": 503, "latencyMs": 0, "jitterMs": 0, "drop": False, "probability": 1.0}
    ]


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def test_admin_faults_list_put_clear(http: httpx.Client) -> None:
    assert http.get("/__admin/faults").json() == {"rules": [], "seed": None}
    answer = http.put("/__admin/faults", json={"rules": [{"operationId": "listPlans", "status": 503}], "seed": 3})
    assert answer.status_code == 200 and answer.json()["seed"] == 3
    assert http.get("/__admin/faults").json()["rules"][0]["operationId"] == "listPlans"
    bad = http.put("/__admin/faults", json={"rules": [{"status": 99}]})
    assert bad.status_code == 400 and bad.json()["details"][0]["path"] == "rules/0/status"
    typo = http.put("/__admin/faults", json={"rules": [{"operationId": "listPlan", "status": 503}]})
    assert typo.status_code == 400 and "listPlan" in typo.json()["error"]
    assert http.delete("/__admin/faults").status_code == 204
    assert http.get("/__admin/faults").json()["rules"] == []


def test_status_and_latency_faults(http: httpx.Client) -> None:
    entity = new_entity(http)
    http.put("/__admin/faults", json={"rules": [{"operationId": "listPlans", "status": 503, "latencyMs": 50}]})
    started = time.perf_counter()
    answer = sales_get(http, entity, "/plans")
    assert time.perf_counter() - started >= 0.05
    assert answer.status_code == 503 and "fault" in answer.json()["error"]
    assert sales_get(http, entity, "/customers").status_code == 200
    assert http.get("/__admin/health").status_code == 200
    journal = http.get("/__admin/requests").json()["data"]
    assert [(e["operationId"], e["status"]) for e in journal] == [("listCustomers", 200), ("listPlans", 503)]


def test_drop_in_process_raises(http: httpx.Client) -> None:
    entity = new_entity(http)
    http.put("/__admin/faults", json={"rules": [{"drop": True}]})
    with pytest.raises(ConnectionDropped):
        sales_get(http, entity, "/plans")


@pytest.mark.live
def test_drop_closes_a_real_connection_without_an_answer() -> None:
    from mock_server.config import MockConfig
    from mock_server.pytest_plugin import _serve

    servers = _serve(MockConfig(host="127.0.0.1", port=0, fixtures="empty", log_level="warning"))
    server = next(servers)
    try:
        entity = server.admin("POST", "/entities", {})
        server.admin("PUT", "/faults", {"rules": [{"operationId": "listPlans", "drop": True}]})
        url = f"{server.url}/api/sales/plans?entityId={entity['entityId']}"
        headers = {"Authorization": f"Bearer {entity['apiKeys']['readOnly']}"}
        with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
            httpx.get(url, headers=headers, timeout=10)
        assert (
            httpx.get(f"{server.url}/api/sales/customers?entityId={entity['entityId']}", headers=headers).status_code
            == 200
        )
        journal = server.admin("GET", "/requests?limit=2")["data"]
        assert [(e["operationId"], e["status"]) for e in journal] == [("listCustomers", 200), ("listPlans", 0)]
    finally:
        servers.close()


def test_injected_faults_are_logged_as_such_not_as_internal_errors(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    entity = new_entity(http)
    http.put("/__admin/faults", json={"rules": [{"operationId": "listPlans", "status": 500},
                                                {"operationId": "listCustomers", "drop": True}]})  # fmt: skip
    with caplog.at_level(logging.INFO, logger="mock_server"):
        assert sales_get(http, entity, "/plans").status_code == 500
        with pytest.raises(ConnectionDropped):
            sales_get(http, entity, "/customers")
    lines = [(r.name, r.levelno, r.getMessage(), r.exc_info) for r in caplog.records]
    info = ("mock_server.faults", logging.INFO)
    assert lines == [
        (*info, "injected fault: GET /api/sales/plans (listPlans): rule 0 answered 500", None),
        (*info, "injected fault: GET /api/sales/customers (listCustomers): rule 1 dropped the connection", None),
    ]
