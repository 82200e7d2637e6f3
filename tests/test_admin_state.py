"""Reset and whole-state export/import through the admin API."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from control_plane_client import client, comparable_state, create_plan, make_app, new_entity, sales_get


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def _populated(http: httpx.Client) -> dict[str, Any]:
    created = new_entity(http, name="Round trip")
    http.post(f"/__admin/entities/{created['entityId']}/customers", json={"name": "Acme", "currency": "USD"})
    assert create_plan(http, created).status_code == 201
    http.post(f"/__admin/entities/{created['entityId']}/clock/advance", json={"days": 3})
    return created


def test_export_import_round_trip_is_lossless(http: httpx.Client) -> None:
    created = _populated(http)
    exported = http.get("/__admin/state").json()
    other = client(make_app())
    assert other.put("/__admin/state", json=exported).status_code == 204
    reexported = other.get("/__admin/state").json()
    assert comparable_state(reexported) == comparable_state(exported)
    assert other.put("/__admin/state", json=reexported).status_code == 204
    assert other.get("/__admin/state").json() == reexported
    plans = sales_get(other, created, "/plans")
    assert [p["code"] for p in plans.json()["data"]] == ["basic"]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(version=7), "version"),
        (lambda d: d["entities"][0].update(customers="nope"), "customers"),
        (lambda d: d["entities"][0]["clock"].update(frozenAt="soon"), "frozenAt"),
        (lambda d: d["apiKeys"][0].update(entityId="missing"), "apiKeys"),
    ],
)
def test_a_bad_document_changes_nothing_and_says_why(http: httpx.Client, mutate: object, needle: str) -> None:
    _populated(http)
    before = http.get("/__admin/state").json()
    bad = copy.deepcopy(before)
    mutate(bad)  # type: ignore[operator]
    answer = http.put("/__admin/state", json=bad)
    assert answer.status_code == 400
    assert needle in answer.json()["error"]
    assert http.get("/__admin/state").json() == before


def test_import_rejects_non_objects(http: httpx.Client) -> None:
    assert http.put("/__admin/state", json=[1, 2]).status_code == 400
    assert (
        http.put("/__admin/state", content=b"not json", headers={"content-type": "application/json"}).status_code == 400
    )


def test_reset_returns_to_the_startup_state(http: httpx.Client) -> None:
    startup = http.get("/__admin/state").json()
    _populated(http)
    http.put("/__admin/faults", json={"rules": [{"status": 503}]})
    assert http.get("/__admin/state").json() != startup
    assert http.post("/__admin/reset").status_code == 204
    assert comparable_state(http.get("/__admin/state").json()) == comparable_state(startup)
    assert http.get("/__admin/faults").json() == {"rules": [], "seed": None}
    assert http.get("/__admin/requests").json()["data"] == []
