"""The demo fixtures' subscriptions and invoices, through the HTTP API (responses validated by the spec)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from conftest import DEMO, OTHER, OTHER_RW, Api

GRACE = "3f5b7d9f-1b3d-4f5b-8d9f-9b1d3f5b7d9f"
PAST_DUE = "2e4a6c8e-0a2c-4e4a-9c8e-8a0c2e4a6c8e"


def _subs(api: Api, **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in api.ok(api.get("/subscriptions", **kwargs))["data"]}


def test_demo_has_subscriptions_in_every_state(api: Api) -> None:
    statuses = Counter(s["status"] for s in _subs(api).values())
    assert statuses == {"trialing": 2, "active": 2, "past_due": 1, "grace_period": 1, "paused": 1, "canceled": 2}
    assert {s["interval"] for s in _subs(api).values()} == {"month", "year", "week"}
    assert len(_subs(api, key=OTHER_RW, entity=OTHER)) == 1


def test_demo_invoices_and_dashboard(api: Api) -> None:
    invoices = api.ok(api.http.get(f"/__admin/entities/{DEMO}/invoices"))["data"]
    assert [i["number"] for i in invoices][:2] == ["INV-000007", "INV-000006"]
    board = api.ok(api.get("/dashboard"))
    usd = next(row for row in board["revenue"] if row["currency"] == "USD")
    # active Basic 2000 + yearly 50000/12 + past_due weekly 2 x 1000 x 52/12 + grace Basic 2000
    assert usd["mrr"] == round(2000 + 50000 / 12 + 2000 * 52 / 12 + 2000)
    assert usd["outstandingAmount"] == sum(
        i["amountDue"] for i in invoices if i["status"] == "open" and i["currency"] == "USD"
    )


def test_paying_through_the_admin_api_ends_collection(api: Api) -> None:
    invoices = api.ok(api.http.get(f"/__admin/entities/{DEMO}/invoices"))["data"]
    for invoice in invoices:
        if invoice["subscriptionId"] in (GRACE, PAST_DUE) and invoice["status"] == "open":
            paid = api.ok(api.http.post(f"/__admin/entities/{DEMO}/invoices/{invoice['id']}/pay"))
            assert paid["status"] == "paid" and paid["paidAt"] == "2025-03-01T00:00:00Z"
    subs = _subs(api)
    assert subs[GRACE]["status"] == subs[PAST_DUE]["status"] == "active"
    assert subs[GRACE]["dunning"]["gracePeriodEndsAt"] is None


def test_clock_advance_through_the_admin_api_applies_events(api: Api) -> None:
    api.ok(api.http.post(f"/__admin/entities/{DEMO}/clock/advance", json={"days": 100}))
    statuses = Counter(s["status"] for s in _subs(api).values())
    assert statuses["trialing"] == 0 and statuses["grace_period"] == 0
    assert _subs(api)[GRACE]["status"] == "suspended"
