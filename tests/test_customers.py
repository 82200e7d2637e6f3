"""Customers through the ASGI app: read-only list, newest first, per entity."""

from __future__ import annotations

from conftest import ACME, OTHER, OTHER_RW, Api


def test_list_newest_first(api: Api) -> None:
    data = api.ok(api.get("/customers"))["data"]
    assert {c["currency"] for c in data} >= {"USD", "EUR", "JPY"}
    assert data[-1]["id"] == ACME  # the first one created
    assert all(c["creditBalance"] >= 0 for c in data)


def test_other_entity_sees_only_its_own(api: Api) -> None:
    theirs = api.ok(api.get("/customers", key=OTHER_RW, entity=OTHER))["data"]
    assert ACME not in {c["id"] for c in theirs} and theirs


def test_customers_are_read_only(api: Api) -> None:
    response = api.post("/customers", {"name": "x"})
    assert response.status_code == 405 and "GET" in response.headers["allow"]
