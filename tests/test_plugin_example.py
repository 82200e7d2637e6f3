"""The README's example of the pytest plugin (fixtures from ``mock_server.pytest_plugin``)."""

import httpx
import pytest


@pytest.mark.sales_entity(clock="2025-03-01T00:00:00Z")
def test_a_plan_outlives_a_month(sales_entity, sales_clock):
    plan = {"code": "basic", "name": "Basic", "currency": "USD", "amount": 2000, "interval": "month"}
    created = httpx.post(sales_entity.url("/plans"), json=plan, headers=sales_entity.headers())
    assert created.status_code == 201
    assert sales_clock.advance(months=1) == "2025-04-01T00:00:00Z"
    listed = httpx.get(sales_entity.url("/plans"), headers=sales_entity.headers(write=False))
    assert [p["code"] for p in listed.json()["data"]] == ["basic"]
