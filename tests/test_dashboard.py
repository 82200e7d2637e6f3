"""GET /dashboard through the HTTP API."""

from __future__ import annotations

import pytest
from billing_support import Api, entity_api

bill = pytest.fixture(entity_api)


def test_empty_entity(bill: Api) -> None:
    board = bill.call("GET", "/dashboard", expect=200)
    assert board["asOf"] == "2025-03-01T00:00:00Z"
    assert board["revenue"] == [] and board["subscriptions"]["total"] == 0
    assert board["quotes"]["winRate"] is None and board["churn"]["subscriptionChurnRate"] is None


def test_mrr_example_and_revenue_rows(bill: Api) -> None:
    acme, other, yen = bill.customer(), bill.customer(), bill.customer("JPY")
    bill.subscribe(bill.plan(2000), acme)
    bill.subscribe(bill.plan(60000, "year"), acme)
    bill.subscribe(bill.plan(15000, "month", 3), other)
    bill.subscribe(bill.plan(1000, "week"), other)
    bill.subscribe(bill.plan(9999, trialDays=30), other)  # trialing: not counted
    paused = bill.subscribe(bill.plan(500, currency="JPY"), yen)
    bill.patch(paused, {"status": "paused"})
    quote = bill.call(
        "POST", "/quotes", {"customerId": yen["id"], "lines": [{"description": "x", "quantity": 2, "unitPrice": 700}]}
    )
    bill.call("PATCH", f"/quotes/{quote['id']}", {"status": "sent"}, expect=200)
    board = bill.call("GET", "/dashboard", expect=200)
    usd = next(row for row in board["revenue"] if row["currency"] == "USD")
    assert (usd["mrr"], usd["arr"], usd["arpa"]) == (16333, 196000, 8167)  # 16333.33 / 2 customers
    jpy = next(row for row in board["revenue"] if row["currency"] == "JPY")
    assert (jpy["mrr"], jpy["openQuoteValue"]) == (0, 1400)
    assert [row["currency"] for row in board["revenue"]] == ["JPY", "USD"]
    assert board["customers"] == {"total": 3, "active": 2}
    subs = board["subscriptions"]
    assert (subs["active"], subs["trialing"], subs["paused"], subs["total"]) == (4, 1, 1, 6)
    assert board["quotes"]["sent"] == 1 and board["quotes"]["conversionRate"] == 0.0


def test_invoiced_and_outstanding(bill: Api) -> None:
    customer = bill.customer(tax=1000)
    sub = bill.subscribe(bill.plan(2000), customer)
    invoice = bill.invoice(sub)
    bill.advance(months=1)
    bill.invoice(sub)
    bill.pay(invoice)
    (row,) = bill.call("GET", "/dashboard", expect=200)["revenue"]
    assert (row["invoicedTotal"], row["outstandingAmount"]) == (4400, 2200)


def test_churn_counts_cancellations_in_the_window(bill: Api) -> None:
    customer, plan = bill.customer(), bill.plan(1000)
    subs = [bill.subscribe(plan, customer) for _ in range(4)]
    bill.advance(days=40)
    bill.patch(subs[0], {"status": "canceled"})
    bill.advance(days=1)
    churn = bill.call("GET", "/dashboard", expect=200)["churn"]
    assert churn == {"windowDays": 30, "canceledSubscriptions": 1, "subscriptionChurnRate": 0.25}


def test_figures_beyond_64_bits_are_answered_exactly(bill: Api) -> None:
    """Each subscription's charge stays under 2^53 (amount 10^12 daily, quantity 4,503, 100 % tax), but twelve
    of them make an ARR of 1.97 x 10^19, beyond 64 bits: still a 200 with the exact figure."""
    customer = bill.customer(tax=10_000)
    subs = [bill.subscribe(bill.plan(10**12, "day"), customer, quantity=4_503) for _ in range(12)]
    bill.invoice(subs[0])
    bill.invoice(subs[1])
    usd = bill.call("GET", "/dashboard", expect=200)["revenue"][0]
    amount = 10**12 * 4_503
    mrr = 12 * amount * 365 // 12  # exact: 12 daily subscriptions x 365 / 12
    assert (usd["mrr"], usd["arr"], usd["arpa"]) == (mrr, 12 * mrr, mrr)
    assert usd["arr"] > 2**64
    assert usd["invoicedTotal"] == usd["outstandingAmount"] == 4 * amount  # two days at 100 % tax


def test_a_subscription_whose_charge_would_pass_2_to_the_53_is_refused(bill: Api) -> None:
    customer = bill.customer(tax=10_000)
    plan = bill.plan(10**12, "day")
    answer = bill.call(
        "POST", "/subscriptions", {"customerId": customer["id"], "planId": plan["id"], "quantity": 4_504}, expect=422
    )
    assert answer["details"] == [
        {"path": "quantity", "message": "the period's charge would exceed 9007199254740991 minor units"}
    ]
