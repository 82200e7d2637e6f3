"""generate-invoice through the HTTP API: 201/200/409, bills, tax, credit, rolling periods."""

from __future__ import annotations

import json

import pytest
from billing_support import Api, entity_api

bill = pytest.fixture(entity_api)


def test_first_bill_then_idempotent(bill: Api) -> None:
    customer = bill.customer(tax=825)
    sub = bill.subscribe(bill.plan(2000, name="Basic"), customer, quantity=2)
    invoice = bill.invoice(sub, {"dueInDays": 14})
    assert invoice["number"] == "INV-000001"
    assert (invoice["periodStart"], invoice["periodEnd"], invoice["issueDate"], invoice["dueDate"]) == (
        "2025-03-01",
        "2025-04-01",
        "2025-03-01",
        "2025-03-15",
    )
    (line,) = invoice["lines"]
    assert (line["quantity"], line["unitAmount"], line["amount"], line["taxAmount"], line["proration"]) == (
        2,
        2000,
        4000,
        330,
        False,
    )
    assert (invoice["subtotal"], invoice["taxTotal"], invoice["total"], invoice["amountDue"]) == (4000, 330, 4330, 4330)
    assert (invoice["status"], invoice["paidAt"], invoice["creditApplied"]) == ("open", None, 0)
    again = bill.invoice(sub, {"dueInDays": 3}, expect=200)
    assert again == invoice
    assert bill.get(sub)["latestInvoiceId"] == invoice["id"]


def test_default_due_in_thirty_days_and_no_body(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    assert bill.invoice(sub)["dueDate"] == "2025-03-31"


def test_trial_bill_is_zero_and_paid(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000, trialDays=14), bill.customer(tax=825))
    invoice = bill.invoice(sub)
    assert [(x["amount"], x["periodStart"], x["periodEnd"]) for x in invoice["lines"]] == [
        (0, "2025-03-01", "2025-03-15")
    ]
    assert (invoice["total"], invoice["status"], invoice["paidAt"]) == (0, "paid", "2025-03-01T00:00:00Z")
    assert bill.invoice(sub, expect=200)["id"] == invoice["id"]
    bill.advance(days=14)
    first = bill.invoice(sub)
    assert (first["periodStart"], first["periodEnd"], first["subtotal"], first["total"]) == (
        "2025-03-15",
        "2025-04-15",
        2000,
        2165,
    )


def test_rolls_one_period_per_call_with_month_end_clamping(bill: Api) -> None:
    bill.advance(days=30)  # 2025-03-31
    sub = bill.subscribe(bill.plan(1000), bill.customer())
    periods = [(bill.invoice(sub)["periodStart"], bill.invoice(sub, expect=200)["periodEnd"])]
    bill.advance(months=3)  # 2025-06-30
    for _ in range(3):
        invoice = bill.invoice(sub)
        periods.append((invoice["periodStart"], invoice["periodEnd"]))
    assert periods == [
        ("2025-03-31", "2025-04-30"),
        ("2025-04-30", "2025-05-31"),
        ("2025-05-31", "2025-06-30"),
        ("2025-06-30", "2025-07-31"),
    ]
    assert bill.invoice(sub, expect=200)["periodEnd"] == "2025-07-31"
    assert bill.get(sub)["billingCycleAnchor"] == "2025-03-31"


def test_numbers_are_sequential_per_entity(bill: Api) -> None:
    customer, plan = bill.customer(), bill.plan(100)
    numbers = [bill.invoice(bill.subscribe(plan, customer))["number"] for _ in range(3)]
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]


@pytest.mark.parametrize("status", ["paused", "canceled"])
def test_not_billable_is_409_and_changes_nothing(bill: Api, status: str) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    sub = bill.patch(sub, {"status": status})
    bill.invoice(sub, expect=409)
    assert bill.get(sub) == sub
    assert bill.entity.count("invoices") == 0


def test_suspended_is_409(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    bill.invoice(sub, {"dueInDays": 0})
    bill.advance(days=1)
    bill.dunning(sub, "grace_period")
    bill.dunning(sub, "suspend")
    bill.invoice(sub, expect=409)


def test_credit_balance_is_applied(bill: Api) -> None:
    customer = bill.customer(credit=1500)
    sub = bill.subscribe(bill.plan(1000), customer)
    first = bill.invoice(sub)
    assert (first["creditApplied"], first["amountDue"], first["status"]) == (1000, 0, "paid")
    assert bill.balance(customer) == 500
    bill.advance(months=1)
    second = bill.invoice(sub)
    assert (second["creditApplied"], second["amountDue"], second["status"]) == (500, 500, "open")
    assert bill.balance(customer) == 0


def test_cancel_at_period_end_then_no_next_bill(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(1000), bill.customer())
    bill.invoice(sub)
    bill.patch(sub, {"cancelAtPeriodEnd": True})
    bill.advance(months=1)
    bill.invoice(sub, expect=409)
    assert bill.get(sub)["status"] == "canceled"


def test_pending_items_come_first_then_are_cleared(bill: Api) -> None:
    customer = bill.customer()
    basic, pro = bill.plan(2000), bill.plan(5000)
    sub = bill.subscribe(basic, customer)
    bill.invoice(sub)
    bill.change(sub, pro, prorationDate="2025-03-11")
    bill.advance(months=1)
    april = bill.invoice(sub)
    assert [x["amount"] for x in april["lines"]] == [-1355, 3387, 5000]
    assert [x["proration"] for x in april["lines"]] == [True, True, False]
    assert bill.get(sub)["pendingInvoiceItems"] == []


def _state(bill: Api) -> str:
    entity = bill.entity
    parts = (
        *(dict(entity.scan_items(k)) for k in ("subscriptions", "invoices", "customers")),
        entity.counters,
        entity.billing.events,
    )
    return json.dumps(parts, sort_keys=True, default=str)


def test_failed_requests_change_nothing(bill: Api) -> None:
    customer = bill.customer(credit=700)
    basic, pro = bill.plan(2000), bill.plan(5000)
    active = bill.subscribe(basic, customer)
    bill.change(active, pro, prorationDate="2025-03-11")
    paused = bill.patch(bill.subscribe(basic, customer), {"status": "paused"})
    before = _state(bill)
    bill.invoice(paused, expect=409)
    bill.change(paused, pro, expect=409)
    bill.change(active, pro, expect=422, prorationDate="2025-04-01")
    bill.change(active, pro, expect=422)  # already on pro at quantity 1
    bill.dunning(active, "remind", expect=409)
    bill.dunning(active, "suspend", expect=409)
    bill.patch(paused, {"cancelAtPeriodEnd": True}, expect=409)
    bill.patch(active, {"status": "past_due"}, expect=409)
    bill.call("POST", "/subscriptions", {"planId": pro["id"], "customerId": customer["id"], "quantity": 0}, expect=400)
    assert _state(bill) == before
