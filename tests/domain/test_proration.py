"""Change plan: every worked example of docs/proration.md and the proration properties."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from billing_factories import make_customer, make_plan, make_sub, new_id
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.errors import Conflict, Unprocessable
from mock_server.domain.invoicing import InvoiceDraft, build_invoice
from mock_server.domain.proration import (
    PlanChange,
    PlanChangeRequest,
    change_plan,
    prorated_charge,
    prorated_credit,
)


def _change(
    sub: dict[str, Any], plan: dict[str, Any], when: date, behavior: str = "create_prorations", **kw: Any
) -> PlanChange:
    request = PlanChangeRequest(
        plan=plan,
        quantity=kw.get("quantity", sub["quantity"]),
        behavior=behavior,
        proration_date=when,
        old_plan_name="Old",
        tax_rate_bps=kw.get("tax", 0),
    )
    return change_plan(sub, request, new_id)


BASIC, PRO = make_plan(2000, name="Basic"), make_plan(5000, name="Pro")


def test_example_1_upgrade() -> None:
    outcome = _change(make_sub(BASIC), PRO, date(2025, 3, 11))
    p = outcome.proration
    assert (p["daysInPeriod"], p["daysRemaining"]) == (31, 21)
    assert (p["credit"], p["charge"], p["net"]) == (-1355, 3387, 2032)
    assert outcome.invoice_lines is None
    assert [line["amount"] for line in outcome.subscription["pendingInvoiceItems"]] == [-1355, 3387]
    assert outcome.subscription["unitAmount"] == 5000
    assert outcome.subscription["currentPeriodEnd"] == "2025-04-01"


def test_example_1_always_invoice_with_tax() -> None:
    customer = make_customer(tax_rate_bps=825)
    sub = make_sub(BASIC, customer)
    outcome = _change(sub, PRO, date(2025, 3, 11), "always_invoice", tax=825)
    assert outcome.invoice_lines is not None and outcome.invoice_period is not None
    draft = InvoiceDraft(new_id(), "INV-000001", outcome.invoice_period, 30)
    invoice, balance = build_invoice(draft, outcome.subscription, customer, outcome.invoice_lines, _now(2025, 3, 11))
    assert [line["taxAmount"] for line in invoice["lines"]] == [-112, 279]
    assert (invoice["subtotal"], invoice["taxTotal"], invoice["total"]) == (2032, 167, 2199)
    assert (invoice["status"], invoice["amountDue"], balance) == ("open", 2199, 0)
    assert outcome.subscription["pendingInvoiceItems"] == []


def test_example_2_downgrade_pending_then_april_bill() -> None:
    outcome = _change(make_sub(PRO), BASIC, date(2025, 3, 21))
    p = outcome.proration
    assert (p["daysRemaining"], p["credit"], p["charge"], p["net"]) == (11, -1774, 710, -1064)
    pending = outcome.subscription["pendingInvoiceItems"]
    assert 2000 + sum(line["amount"] for line in pending) == 936


def test_example_2_downgrade_always_invoice_goes_to_credit() -> None:
    customer = make_customer()
    outcome = _change(make_sub(PRO, customer), BASIC, date(2025, 3, 21), "always_invoice")
    assert outcome.invoice_lines is not None and outcome.invoice_period is not None
    draft = InvoiceDraft(new_id(), "INV-000001", outcome.invoice_period, 30)
    invoice, balance = build_invoice(draft, outcome.subscription, customer, outcome.invoice_lines, _now(2025, 3, 21))
    assert (invoice["total"], invoice["amountDue"], invoice["status"], balance) == (-1064, 0, "paid", 1064)


def test_example_3_different_cadence() -> None:
    yearly = make_plan(50000, "year", name="Pro yearly")
    outcome = _change(make_sub(PRO), yearly, date(2025, 3, 11))
    p = outcome.proration
    assert (p["credit"], p["charge"]) == (-3387, 50000)
    sub = outcome.subscription
    assert (sub["currentPeriodStart"], sub["currentPeriodEnd"], sub["billingCycleAnchor"]) == (
        "2025-03-11",
        "2026-03-11",
        "2025-03-11",
    )
    assert outcome.invoice_lines is not None
    assert sum(line["amount"] for line in outcome.invoice_lines) == 46613
    assert outcome.invoice_period == (date(2025, 3, 11), date(2026, 3, 11))
    assert outcome.invoice_lines[1]["proration"] is False


def test_example_4_jpy_and_kwd() -> None:
    jpy_old, jpy_new = make_plan(980, currency="JPY"), make_plan(1980, currency="JPY")
    april = datetime(2025, 4, 1, tzinfo=UTC)
    sub = make_sub(jpy_old, now=april)
    p = _change(sub, jpy_new, date(2025, 4, 16)).proration
    assert (p["daysInPeriod"], p["credit"], p["charge"], p["net"]) == (30, -490, 990, 500)
    kwd_old, kwd_new = make_plan(12500, currency="KWD"), make_plan(99000, currency="KWD")
    assert _change(make_sub(kwd_old), kwd_new, date(2025, 3, 11)).proration["credit"] == -8468


def test_none_switches_without_lines_but_resets_a_different_cadence() -> None:
    weekly = make_plan(1000, "week")
    outcome = _change(make_sub(PRO), weekly, date(2025, 3, 11), "none")
    assert outcome.proration["lines"] == [] and outcome.proration["net"] == 0
    assert outcome.invoice_lines is None
    assert (outcome.subscription["currentPeriodStart"], outcome.subscription["currentPeriodEnd"]) == (
        "2025-03-11",
        "2025-03-18",
    )


def test_trialing_switches_plan_only() -> None:
    sub = make_sub(BASIC, trial_days=14)
    yearly = make_plan(50000, "year")
    outcome = _change(sub, yearly, date(2025, 3, 5), "always_invoice", quantity=3)
    new = outcome.subscription
    assert outcome.proration["lines"] == [] and outcome.invoice_lines is None
    assert (new["status"], new["trialEnd"], new["currentPeriodEnd"]) == ("trialing", "2025-03-15", "2025-03-15")
    assert (new["planId"], new["quantity"], new["unitAmount"], new["interval"]) == (yearly["id"], 3, 50000, "year")


@pytest.mark.parametrize(
    ("plan_over", "when", "quantity"),
    [
        ({"active": False}, date(2025, 3, 11), 1),
        ({"currency": "EUR"}, date(2025, 3, 11), 1),
        ({}, date(2025, 4, 1), 1),
        ({}, date(2025, 2, 28), 1),
    ],
)
def test_unusable_changes_are_422(plan_over: dict[str, Any], when: date, quantity: int) -> None:
    with pytest.raises(Unprocessable):
        _change(make_sub(BASIC), make_plan(5000, **plan_over), when, quantity=quantity)


def test_proration_date_outside_the_period_names_it_and_how_an_ended_period_moves_on() -> None:
    with pytest.raises(
        Unprocessable, match=r"prorationDate 2025-02-28 is outside .* 2025-03-01 \.\. 2025-04-01"
    ) as early:
        _change(make_sub(BASIC), PRO, date(2025, 2, 28))
    assert "generate-invoice" not in str(early.value)
    with pytest.raises(Unprocessable, match=r"2025-04-05 is outside .*rolled forward by generate-invoice"):
        _change(make_sub(BASIC), PRO, date(2025, 4, 5))


def test_same_plan_same_quantity_is_422_but_a_quantity_change_is_not() -> None:
    sub = make_sub(BASIC)
    with pytest.raises(Unprocessable):
        _change(sub, BASIC, date(2025, 3, 11))
    assert _change(sub, BASIC, date(2025, 3, 11), quantity=3).proration["net"] == round(2 * 2000 * 21 / 31)


@pytest.mark.parametrize("status", ["past_due", "grace_period", "suspended", "paused", "canceled"])
def test_only_trialing_or_active_can_change(status: str) -> None:
    sub = make_sub(BASIC) | {"status": status}
    with pytest.raises(Conflict):
        _change(sub, PRO, date(2025, 3, 11))


def _now(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


amounts = st.integers(0, 10**12)


@given(amounts, st.integers(1, 366), st.data())
def test_credit_never_exceeds_the_old_full_period(old: int, days: int, data: st.DataObject) -> None:
    remaining = data.draw(st.integers(1, days))
    credit = prorated_credit(old, remaining, days)
    assert type(credit) is int
    assert -old <= credit <= 0


@given(amounts, st.integers(1, 366), st.data())
def test_same_plan_same_quantity_nets_to_zero(total: int, days: int, data: st.DataObject) -> None:
    remaining = data.draw(st.integers(1, days))
    assert prorated_credit(total, remaining, days) + prorated_charge(total, remaining, days, True) == 0


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(1, 50),
    st.sampled_from(["month", "year", "week", "day"]),
    st.integers(0, 27),
    st.sampled_from(["create_prorations", "always_invoice", "none"]),
)
def test_change_plan_figures_are_consistent(
    old: int, new: int, quantity: int, interval: str, offset: int, behavior: str
) -> None:
    old_plan, new_plan = make_plan(old), make_plan(new, interval)
    sub = make_sub(old_plan)
    when = date(2025, 3, 1 + offset)
    outcome = _change(sub, new_plan, when, behavior, quantity=quantity)
    p = outcome.proration
    assert p["net"] == p["credit"] + p["charge"] == sum(line["amount"] for line in p["lines"])
    assert -old <= p["credit"] <= 0
    assert all(type(line["amount"]) is int for line in p["lines"])
    if behavior == "none":
        assert p["lines"] == []
