"""The plugin's verification and stub helpers on ``sales_entity``, against a real server."""

from __future__ import annotations

import httpx
import pytest

from mock_server.pytest_plugin import SalesEntity


def _plan(entity: SalesEntity, code: str) -> httpx.Response:
    body = {"code": code, "name": "Basic", "currency": "USD", "amount": 2000, "interval": "month"}
    return httpx.post(entity.url("/plans"), json=body, headers=entity.headers())


def test_requests_and_assert_called(sales_entity: SalesEntity) -> None:
    assert _plan(sales_entity, "basic").status_code == 201
    [sent] = sales_entity.requests("POST", "/plans")
    assert '"basic"' in sent["request"]["body"] and sent["status"] == 201
    body = [{"matchesJsonPath": {"expression": "$.code", "equalTo": "basic"}}]
    assert sales_entity.assert_called("POST", "/plans", body_patterns=body, times=1) == [sent]
    assert sales_entity.requests("GET") == []
    with pytest.raises(AssertionError) as failed:
        sales_entity.assert_called("POST", "/plans", body_patterns=[{"contains": "premium"}])
    message = str(failed.value)
    assert "closest requests:" in message and "POST /api/sales/plans -> 201" in message
    assert 'bodyPatterns[0]: contains "premium" does not match the body' in message
    with pytest.raises(AssertionError, match="expected 2 request"):
        sales_entity.assert_called("POST", "/plans", times=2)


def test_stub(sales_entity: SalesEntity) -> None:
    stub = sales_entity.stub("GET", "/plans", json={"data": []}, headers={"X-From": "stub"}, times=1)
    answer = httpx.get(sales_entity.url("/plans"), headers=sales_entity.headers(write=False))
    assert answer.json() == {"data": []} and answer.headers["x-from"] == "stub"
    assert sales_entity.requests("GET", "/plans")[0]["stubId"] == stub["id"]
    with pytest.raises(RuntimeError, match="does not fit the spec"):
        sales_entity.stub("GET", "/plans", json={"data": 1})
    broken = sales_entity.stub("GET", "/plans", status=500, json="oops", allow_invalid=True)
    answer = httpx.get(sales_entity.url("/plans"), headers=sales_entity.headers(write=False))
    assert answer.status_code == 500 and answer.json() == "oops" and broken["allowInvalid"] is True
