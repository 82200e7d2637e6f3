"""The pytest plugin's fixtures: in-process app, real server, isolated entities, clock helper."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from control_plane_client import client
from starlette.applications import Starlette

from mock_server.pytest_plugin import SalesClock, SalesEntity, SalesMockServer

DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


def test_in_process_app(sales_mock_app: Starlette) -> None:
    http = client(sales_mock_app)
    assert http.get("/__admin/health").json()["status"] == "ok"
    answer = http.get(
        "/api/sales/plans", params={"entityId": DEMO_ENTITY}, headers={"Authorization": "Bearer ak_demo_readonly"}
    )
    assert answer.status_code == 200


def test_real_server(sales_mock_server: SalesMockServer) -> None:
    assert sales_mock_server.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{sales_mock_server.admin_url}/health").json()["status"] == "ok"
    with pytest.raises(RuntimeError, match="404"):
        sales_mock_server.admin("GET", "/nothing")


def test_entity_is_fresh_and_empty(sales_entity: SalesEntity, sales_mock_server: SalesMockServer) -> None:
    assert sales_entity.read_write_key.startswith("ak_") and sales_entity.read_only_key.startswith("ak_")
    listed = httpx.get(sales_entity.url("/plans"), headers=sales_entity.headers(write=False))
    assert listed.json() == {"data": []}
    ids = [e["entityId"] for e in sales_mock_server.admin("GET", "/entities")["data"]]
    assert sales_entity.id in ids


@pytest.mark.sales_entity(fixtures="demo", clock="2025-01-31T00:00:00Z", name="Marked", base_currency="EUR")
def test_marker_options(sales_entity: SalesEntity, sales_clock: SalesClock) -> None:
    assert sales_entity.now == "2025-01-31T00:00:00Z"
    customers = httpx.get(sales_entity.url("/customers"), headers=sales_entity.headers(write=False)).json()["data"]
    assert customers
    assert sales_clock.advance(months=1) == "2025-02-28T00:00:00Z"
    assert sales_clock.advance_to("2025-03-01T12:00:00Z") == "2025-03-01T12:00:00Z"
    assert sales_clock.now() == "2025-03-01T12:00:00Z"
    with pytest.raises(RuntimeError, match="409"):
        sales_clock.advance_to("2025-01-01T00:00:00Z")


def test_entities_are_deleted_after_each_test(sales_mock_server: SalesMockServer) -> None:
    before = {e["entityId"] for e in sales_mock_server.admin("GET", "/entities")["data"]}
    created = sales_mock_server.admin("POST", "/entities", {})
    sales_mock_server.admin("DELETE", f"/entities/{created['entityId']}")
    assert {e["entityId"] for e in sales_mock_server.admin("GET", "/entities")["data"]} == before


def test_loading_the_plugin_is_cheap() -> None:
    heavy = "('starlette', 'uvicorn', 'mock_server.app')"
    code = f"import sys, mock_server.pytest_plugin; print(any(m.startswith({heavy}) for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


def test_demo_entity_starts_from_the_demo_fixtures(sales_demo_entity: SalesEntity, sales_clock: SalesClock) -> None:
    customers = httpx.get(sales_demo_entity.url("/customers"), headers=sales_demo_entity.headers(write=False))
    assert {c["currency"] for c in customers.json()["data"]} >= {"USD", "JPY", "KWD"}
    assert sales_clock.entity is sales_demo_entity


USER_TESTS = """
import httpx
import pytest


def _customers(entity):
    return httpx.get(entity.url("/customers"), headers=entity.headers(write=False)).json()["data"]


def test_sales_entity_starts_empty(sales_entity):
    assert _customers(sales_entity) == []


@pytest.mark.sales_entity(fixtures="demo")
def test_the_marker_gives_the_demo_fixtures(sales_entity):
    assert _customers(sales_entity)


@pytest.mark.sales_entity(clock="2025-03-01T00:00:00Z")
def test_the_demo_entity_is_one_word_away(sales_demo_entity, sales_clock):
    assert _customers(sales_demo_entity)
    assert sales_clock.advance(days=1) == "2025-03-02T00:00:00Z"
"""


def test_empty_unless_marked_and_the_demo_fixture_in_a_users_project(pytester: pytest.Pytester) -> None:
    """The README's promise, in a project of its own: empty by default, the marker, ``sales_demo_entity``."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=180)
    result.assert_outcomes(passed=3)
