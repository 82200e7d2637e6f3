"""Subscriptions through the HTTP API: create, list, the PATCH status machine, time-driven events."""

from __future__ import annotations

import pytest
from billing_support import Api, entity_api

bill = pytest.fixture(entity_api)


def test_create_active_and_trialing(bill: Api) -> None:
    customer, plan = bill.customer(), bill.plan(2000)
    sub = bill.subscribe(plan, customer, quantity=3)
    assert (sub["status"], sub["quantity"], sub["unitAmount"], sub["currency"]) == ("active", 3, 2000, "USD")
    assert (sub["startDate"], sub["billingCycleAnchor"], sub["currentPeriodEnd"]) == (
        "2025-03-01",
        "2025-03-01",
        "2025-04-01",
    )
    assert sub["pendingInvoiceItems"] == [] and sub["latestInvoiceId"] is None
    trial_plan = bill.plan(2000, trialDays=14)
    trial = bill.subscribe(trial_plan, customer)
    assert (trial["status"], trial["trialEnd"], trial["currentPeriodEnd"]) == ("trialing", "2025-03-15", "2025-03-15")
    assert bill.subscribe(trial_plan, customer, trialDays=0)["status"] == "active"


def test_list_newest_first_with_status_filter(bill: Api) -> None:
    customer, plan = bill.customer(), bill.plan(2000)
    first, second = bill.subscribe(plan, customer), bill.subscribe(plan, customer)
    bill.patch(first, {"status": "paused"})
    listed = bill.call("GET", "/subscriptions", expect=200)["data"]
    assert [s["id"] for s in listed] == [second["id"], first["id"]]
    paused = bill.call("GET", "/subscriptions", expect=200, status="paused")["data"]
    assert [s["id"] for s in paused] == [first["id"]]
    bill.call("GET", "/subscriptions", expect=400, status="sleeping")


def test_create_rejects_unusable_references(bill: Api) -> None:
    usd, eur = bill.customer(), bill.customer("EUR")
    plan = bill.plan(2000)
    archived = bill.plan(2000, active=False)
    for body in (
        {"planId": plan["id"], "customerId": eur["id"]},
        {"planId": archived["id"], "customerId": usd["id"]},
        {"planId": plan["id"], "customerId": "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10"},
        {"planId": "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10", "customerId": usd["id"]},
    ):
        bill.call("POST", "/subscriptions", body, expect=422)
    assert bill.call("GET", "/subscriptions", expect=200)["data"] == []


def test_pause_resume_cancel(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    bill.advance(days=4)
    paused = bill.patch(sub, {"status": "paused"})
    assert (paused["status"], paused["pausedAt"]) == ("paused", "2025-03-05T00:00:00Z")
    assert bill.patch(sub, {"status": "paused"}) == paused  # no-op
    bill.advance(days=10)
    resumed = bill.patch(sub, {"status": "active"})
    assert (resumed["status"], resumed["pausedAt"], resumed["billingCycleAnchor"], resumed["currentPeriodEnd"]) == (
        "active",
        None,
        "2025-03-15",
        "2025-04-15",
    )
    canceled = bill.patch(sub, {"status": "canceled"})
    assert (canceled["status"], canceled["canceledAt"]) == ("canceled", "2025-03-15T00:00:00Z")
    assert bill.patch(sub, {"status": "canceled"}) == canceled
    bill.patch(sub, {"status": "active"}, expect=409)
    bill.patch(sub, {"cancelAtPeriodEnd": True}, expect=409)


@pytest.mark.parametrize(
    "body", [{"status": "past_due"}, {"status": "trialing"}, {"status": "suspended"}, {"status": "grace_period"}]
)
def test_statuses_reached_only_by_events_are_409(bill: Api, body: dict[str, str]) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    bill.patch(sub, body, expect=409)
    assert bill.get(sub) == sub


def test_trialing_cannot_pause_but_can_cancel(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000, trialDays=7), bill.customer())
    bill.patch(sub, {"status": "paused"}, expect=409)
    assert bill.patch(sub, {"status": "canceled"})["status"] == "canceled"


def test_trial_end_activates(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000, trialDays=14), bill.customer())
    bill.advance(days=13)
    assert bill.get(sub)["status"] == "trialing"
    bill.advance(days=1)
    now = bill.get(sub)
    assert (now["status"], now["billingCycleAnchor"], now["currentPeriodStart"], now["currentPeriodEnd"]) == (
        "active",
        "2025-03-15",
        "2025-03-15",
        "2025-04-15",
    )


def test_cancel_at_period_end(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    scheduled = bill.patch(sub, {"cancelAtPeriodEnd": True})
    assert (scheduled["status"], scheduled["cancelAtPeriodEnd"]) == ("active", True)
    bill.advance(days=30)
    assert bill.get(sub)["status"] == "active"
    bill.advance(days=5)
    done = bill.get(sub)
    assert (done["status"], done["canceledAt"], done["updatedAt"]) == (
        "canceled",
        "2025-04-01T00:00:00Z",
        "2025-04-01T00:00:00Z",
    )


def test_cancel_at_period_end_can_be_undone(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    bill.patch(sub, {"cancelAtPeriodEnd": True})
    assert bill.patch(sub, {"cancelAtPeriodEnd": False})["cancelAtPeriodEnd"] is False
    bill.advance(months=2)
    assert bill.get(sub)["status"] == "active"


def test_cancel_at_period_end_wins_over_trial_end(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000, trialDays=10), bill.customer())
    bill.patch(sub, {"cancelAtPeriodEnd": True})
    bill.advance(days=10)
    done = bill.get(sub)
    assert (done["status"], done["canceledAt"]) == ("canceled", "2025-03-11T00:00:00Z")


def test_unknown_subscription_is_404(bill: Api) -> None:
    ghost = {"id": "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10"}
    bill.patch(ghost, {"status": "paused"}, expect=404)
    bill.invoice(ghost, expect=404)
    bill.dunning(ghost, "remind", expect=404)


def _in_status(bill: Api, status: str) -> dict:
    """A subscription brought to ``status`` through the API (clock moved by one day for dunning ones)."""
    sub = bill.subscribe(bill.plan(2000, trialDays=40 if status == "trialing" else 0), bill.customer())
    if status in ("past_due", "grace_period", "suspended"):
        bill.invoice(sub, {"dueInDays": 0})
        bill.advance(days=1)
    if status in ("grace_period", "suspended"):
        bill.dunning(sub, "grace_period", graceDays=90)
    if status == "suspended":
        bill.dunning(sub, "suspend")
    if status == "paused":
        bill.patch(sub, {"status": "paused"})
    got = bill.get(sub)
    assert got["status"] == status
    return got


ALL = ["trialing", "active", "past_due", "grace_period", "suspended", "paused"]


@pytest.mark.parametrize("status", ALL)
def test_cancel_now_from_every_status(bill: Api, status: str) -> None:
    sub = _in_status(bill, status)
    canceled = bill.patch(sub, {"status": "canceled"})
    assert (canceled["status"], canceled["canceledAt"]) == ("canceled", bill.get(sub)["updatedAt"])


@pytest.mark.parametrize("status", ["trialing", "active", "past_due", "grace_period"])
def test_cancel_at_period_end_from_every_allowed_status(bill: Api, status: str) -> None:
    sub = _in_status(bill, status)
    scheduled = bill.patch(sub, {"cancelAtPeriodEnd": True})
    assert (scheduled["status"], scheduled["cancelAtPeriodEnd"]) == (status, True)
    bill.advance(days=45)
    done = bill.get(sub)
    assert (done["status"], done["canceledAt"]) == ("canceled", f"{sub['currentPeriodEnd']}T00:00:00Z")


@pytest.mark.parametrize("status", ["suspended", "paused"])
def test_cancel_at_period_end_elsewhere_is_409(bill: Api, status: str) -> None:
    sub = _in_status(bill, status)
    bill.patch(sub, {"cancelAtPeriodEnd": True}, expect=409)
    assert bill.get(sub) == sub


@pytest.mark.parametrize("status", ["trialing", "past_due", "grace_period", "suspended"])
def test_pause_only_from_active(bill: Api, status: str) -> None:
    bill.patch(_in_status(bill, status), {"status": "paused"}, expect=409)
