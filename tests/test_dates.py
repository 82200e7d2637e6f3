"""Every date and instant the server reads is one it can hold, or a 400 naming the field: Sales API
dates (``0001-01-01..9999-12-31``), entity clocks (``1970-01-01T00:00:00Z..9899-12-31T23:59:59Z``,
so that every date worked out from them can be held too), and the dates of an imported state."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from conftest import ACME, DEMO, Api
from control_plane_client import client, make_app

from mock_server.clock import LATEST, RANGE_TEXT
from mock_server.spec import DATE_RANGE

LINE = [{"description": "x", "quantity": 1, "unitPrice": 100}]
OUT_OF_RANGE = ["0000-01-01", "0000-12-31", "10000-01-01"]


def _names(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["error"], answer.text


def _a(api: Api, kind: str, status: str) -> str:
    return str(next(r["id"] for r in api.get(f"/{kind}").json()["data"] if r["status"] == status))


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_sales_dates_out_of_range_are_400_naming_the_field(api: Api, day: str) -> None:
    _names(api.post("/quotes", {"customerId": ACME, "lines": LINE, "issueDate": day}), "issueDate")
    _names(api.post("/quotes", {"customerId": ACME, "lines": LINE, "validUntil": day}), "validUntil")
    _names(api.patch(f"/quotes/{_a(api, 'quotes', 'draft')}", {"validUntil": day}), "validUntil")
    _names(api.post("/orders", {"customerId": ACME, "lines": LINE, "orderDate": day}), "orderDate")
    _names(api.post("/orders", {"quoteId": _a(api, "quotes", "accepted"), "orderDate": day}), "orderDate")
    _names(api.patch(f"/orders/{_a(api, 'orders', 'draft')}", {"orderDate": day}), "orderDate")
    subscription = _a(api, "subscriptions", "active")
    plan = api.get("/plans").json()["data"][0]["id"]
    _names(
        api.post(f"/subscriptions/{subscription}/change-plan", {"newPlanId": plan, "prorationDate": day}),
        "prorationDate",
    )


def test_the_message_gives_the_range(api: Api) -> None:
    answer = api.post("/quotes", {"customerId": ACME, "lines": LINE, "issueDate": "0000-01-01"})
    assert answer.json()["details"] == [
        {"path": "issueDate", "message": f"must be a date YYYY-MM-DD within {DATE_RANGE} (got '0000-01-01')"}
    ]


def test_the_ends_of_the_range_are_dates(api: Api) -> None:
    first = api.post("/quotes", {"customerId": ACME, "lines": LINE, "issueDate": "0001-01-01"})
    assert first.status_code == 201 and first.json()["issueDate"] == "0001-01-01"
    last = {"customerId": ACME, "lines": LINE, "issueDate": "9999-12-31", "validUntil": "9999-12-31"}
    assert api.post("/quotes", last).status_code == 201
    derived = api.post("/quotes", {"customerId": ACME, "lines": LINE, "issueDate": "9999-12-31"})
    assert derived.status_code == 422 and derived.json()["details"][0]["path"] == "validUntil"  # issueDate + 30 days


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app(fixtures="demo"))


@pytest.mark.parametrize("instant", ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9900-01-01T00:00:00Z"])
def test_an_entity_clock_out_of_range_is_400_naming_it(http: httpx.Client, instant: str) -> None:
    answer = http.post("/__admin/entities", json={"fixtures": "demo", "clock": instant})
    assert answer.status_code == 400 and answer.json()["details"][0]["path"] == "clock", answer.text


def test_everything_worked_out_from_the_latest_clock_can_be_held(http: httpx.Client) -> None:
    """At the clock's last instant a plan of 12 years with a year's trial still ends within the calendar."""
    created = http.post("/__admin/entities", json={"fixtures": "demo", "clock": RANGE_TEXT.split("..")[1]}).json()
    entity, key = created["entityId"], created["apiKeys"]["readWrite"]
    sales = {"params": {"entityId": entity}, "headers": {"Authorization": f"Bearer {key}"}}
    customer = next(c["id"] for c in http.get("/api/sales/customers", **sales).json()["data"] if c["currency"] == "USD")
    long_plan = {"name": "Long", "currency": "USD", "amount": 100, "interval": "year", "intervalCount": 12}
    for code, trial in (("long", 0), ("long-trial", 365)):
        plan = http.post("/api/sales/plans", json={**long_plan, "code": code, "trialDays": trial}, **sales).json()
        made = http.post("/api/sales/subscriptions", json={"planId": plan["id"], "customerId": customer}, **sales)
        assert made.status_code == 201, made.text
        assert made.json()["currentPeriodEnd"] > f"{LATEST.year + (1 if trial else 11)}"
        paid = http.post(
            f"/api/sales/subscriptions/{made.json()['id']}/generate-invoice", json={"dueInDays": 365}, **sales
        )
        assert paid.status_code < 500, paid.text
    assert http.get("/api/sales/dashboard", **sales).status_code == 200


def _state(http: httpx.Client) -> dict[str, Any]:
    document: dict[str, Any] = http.get("/__admin/state").json()
    return document


@pytest.mark.parametrize(
    ("where", "value", "needle"),
    [
        (("clock", "frozenAt"), "0000-01-01T00:00:00Z", "frozenAt"),
        (("clock", "frozenAt"), "9999-12-31T00:00:00Z", "frozenAt"),
        (("clock", "offsetSeconds"), 10**20, "offsetSeconds"),
        (("clock", "offsetSeconds"), 400 * 365 * 86400 * 20, "offsetSeconds"),
        (("quotes", 0, "validUntil"), "0000-01-01", "quotes[0].validUntil"),
        (("quotes", 0, "issueDate"), 20250101, "quotes[0].issueDate"),
        (("orders", 0, "orderDate"), "0000-01-01", "orders[0].orderDate"),
        (("subscriptions", 0, "currentPeriodEnd"), "0000-01-01", "subscriptions[0].currentPeriodEnd"),
        (("subscriptions", 0, "updatedAt"), "0000-01-01T00:00:00Z", "subscriptions[0].updatedAt"),
        (("invoices", 0, "dueDate"), "2025-02-30", "invoices[0].dueDate"),
    ],
)
def test_a_state_import_with_a_date_the_server_cannot_hold_is_400(
    http: httpx.Client, where: tuple[Any, ...], value: Any, needle: str
) -> None:
    before = _state(http)
    document = copy.deepcopy(before)
    node = document["entities"][0]
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    answer = http.put("/__admin/state", json=document)
    assert answer.status_code == 400 and needle in answer.json()["error"], answer.text
    assert _state(http) == before
    assert (
        http.get(
            "/api/sales/quotes", params={"entityId": DEMO}, headers={"Authorization": "Bearer ak_demo_readwrite"}
        ).status_code
        == 200
    )


def _active_with_open_invoice(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An active subscription of the first entity and one of its open invoices."""
    entity = document["entities"][0]
    active = {s["id"]: s for s in entity["subscriptions"] if s["status"] == "active"}
    invoice = next(i for i in entity["invoices"] if i["status"] == "open" and i.get("subscriptionId") in active)
    return active[invoice["subscriptionId"]], invoice


def test_an_imported_period_at_the_end_of_the_calendar_is_a_422_naming_the_proration_date(http: httpx.Client) -> None:
    """A new period ``[prorationDate, + interval)`` that would end after 9999-12-31 names prorationDate."""
    document = _state(http)
    subscription, _invoice = _active_with_open_invoice(document)
    subscription.update(currentPeriodStart="9999-11-30", currentPeriodEnd="9999-12-31", billingCycleAnchor="9999-11-30")
    assert http.put("/__admin/state", json=document).status_code == 204
    sales = {"params": {"entityId": DEMO}, "headers": {"Authorization": "Bearer ak_demo_readwrite"}}
    plans = http.get("/api/sales/plans", **sales).json()["data"]
    before = _state(http)
    other = next(
        p
        for p in plans
        if p["active"] and p["currency"] == subscription["currency"] and p["interval"] != subscription["interval"]
    )
    path = f"/api/sales/subscriptions/{subscription['id']}/change-plan"
    answer = http.post(path, json={"newPlanId": other["id"], "prorationDate": "9999-12-30"}, **sales)
    assert answer.status_code == 422, answer.text
    assert [d["path"] for d in answer.json()["details"]] == ["prorationDate"]
    assert _state(http) == before


def test_an_imported_invoice_due_on_the_last_day_of_the_calendar_never_falls_overdue(http: httpx.Client) -> None:
    document = _state(http)
    _subscription, invoice = _active_with_open_invoice(document)
    invoice["dueDate"] = "9999-12-31"
    answer = http.put("/__admin/state", json=document)
    assert answer.status_code == 204, answer.text
    sales = {"params": {"entityId": DEMO}, "headers": {"Authorization": "Bearer ak_demo_readwrite"}}
    assert http.get("/api/sales/subscriptions", **sales).status_code == 200
    moved = http.post(f"/__admin/entities/{DEMO}/clock/advance", json={"days": 1})
    assert moved.status_code == 200, moved.text
