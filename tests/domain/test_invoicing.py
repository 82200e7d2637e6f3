"""Invoices: bills, per-line tax, totals, credit balance, cycle detection."""

from __future__ import annotations

from datetime import UTC, date, datetime

from billing_factories import NOW, make_customer, make_plan, make_sub, new_id
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.invoicing import (
    InvoiceDraft,
    build_invoice,
    find_cycle_invoice,
    invoice_line,
    settle,
    subscription_line,
)

PERIOD = (date(2025, 3, 1), date(2025, 4, 1))


def _bill(sub: dict, customer: dict, lines: list[dict], now: datetime = NOW) -> tuple[dict, int]:
    return build_invoice(InvoiceDraft(new_id(), "INV-000001", PERIOD, 30), sub, customer, lines, now)


def test_april_invoice_of_example_2_uses_the_credit_balance() -> None:
    customer = make_customer(credit_balance=1064)
    sub = make_sub(make_plan(2000), customer)
    invoice, balance = _bill(sub, customer, [subscription_line(sub, "Basic", new_id(), 0)])
    assert (invoice["subtotal"], invoice["creditApplied"], invoice["amountDue"], balance) == (2000, 1064, 936, 0)
    assert invoice["status"] == "open" and invoice["paidAt"] is None
    assert (invoice["issueDate"], invoice["dueDate"]) == ("2025-03-01", "2025-03-31")


def test_trial_bill_is_one_zero_line_and_born_paid() -> None:
    customer = make_customer(tax_rate_bps=825)
    sub = make_sub(make_plan(2000), customer, trial_days=14)
    invoice, _ = _bill(sub, customer, [subscription_line(sub, "Basic", new_id(), 825)])
    assert [(line["amount"], line["periodEnd"]) for line in invoice["lines"]] == [(0, "2025-03-15")]
    assert (invoice["total"], invoice["status"], invoice["paidAt"]) == (0, "paid", "2025-03-01T00:00:00Z")


def test_cycle_invoice_needs_a_non_proration_line_of_the_exact_period() -> None:
    sub = make_sub(make_plan(2000))
    customer = make_customer()
    prorated = invoice_line(
        line_id=new_id(),
        description="x",
        quantity=1,
        unit_amount=1,
        amount=5,
        period=PERIOD,
        proration=True,
        tax_rate_bps=0,
    )
    proration_invoice, _ = _bill(sub, customer, [prorated])
    assert find_cycle_invoice([proration_invoice], sub) is None
    cycle, _ = _bill(sub, customer, [prorated, subscription_line(sub, "B", new_id(), 0)])
    assert find_cycle_invoice([proration_invoice, cycle], sub) is cycle


@given(st.integers(-(10**12), 10**12), st.integers(0, 10**12))
def test_settlement_rules(total: int, balance: int) -> None:
    s = settle(total, balance)
    assert s.amount_due == total - s.credit_applied if total > 0 else s.amount_due == 0
    assert 0 <= s.credit_applied <= max(total, 0)
    assert s.new_credit_balance >= 0
    assert s.new_credit_balance == balance - s.credit_applied + max(-total, 0)


line_amounts = st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=8)


@given(line_amounts, st.integers(0, 10_000), st.integers(0, 10**10))
def test_invoice_totals(amounts: list[int], bps: int, balance: int) -> None:
    customer = make_customer(tax_rate_bps=bps, credit_balance=balance)
    sub = make_sub(make_plan(1), customer)
    lines = [
        invoice_line(
            line_id=new_id(),
            description="l",
            quantity=1,
            unit_amount=a,
            amount=a,
            period=PERIOD,
            proration=True,
            tax_rate_bps=0,
        )
        for a in amounts
    ]
    invoice, _ = _bill(sub, customer, lines, datetime(2025, 3, 2, tzinfo=UTC))
    assert invoice["subtotal"] == sum(amounts)
    assert invoice["taxTotal"] == sum(line["taxAmount"] for line in invoice["lines"])
    assert invoice["total"] == invoice["subtotal"] + invoice["taxTotal"]
    assert invoice["amountDue"] == max(invoice["total"], 0) - invoice["creditApplied"]
    assert (invoice["status"] == "paid") == (invoice["amountDue"] == 0)
    money = ("subtotal", "taxTotal", "total", "creditApplied", "amountDue")
    assert all(type(invoice[k]) is int for k in money)
