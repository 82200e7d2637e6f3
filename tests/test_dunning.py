"""Dunning and collection through the HTTP API: overdue -> past_due, remind, grace, suspend, pay."""

from __future__ import annotations

import pytest
from billing_support import Api, entity_api

bill = pytest.fixture(entity_api)


def _overdue(bill: Api) -> tuple[dict, dict]:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    invoice = bill.invoice(sub, {"dueInDays": 7})
    return sub, invoice


def test_open_invoice_becomes_overdue_the_day_after_due(bill: Api) -> None:
    sub, _ = _overdue(bill)
    bill.advance(days=7)
    assert bill.get(sub)["status"] == "active"
    bill.advance(days=1)
    assert bill.get(sub)["status"] == "past_due"


def test_remind_grace_suspend_then_pay(bill: Api) -> None:
    sub, invoice = _overdue(bill)
    bill.advance(days=8)
    reminded = bill.dunning(sub, "remind")
    assert (reminded["status"], reminded["dunning"]["reminderCount"]) == ("past_due", 1)
    assert reminded["dunning"]["lastRemindedAt"] == "2025-03-09T00:00:00Z"
    grace = bill.dunning(sub, "grace_period", graceDays=10)
    assert (grace["status"], grace["dunning"]["gracePeriodEndsAt"]) == ("grace_period", "2025-03-19T00:00:00Z")
    assert bill.dunning(sub, "remind")["dunning"]["reminderCount"] == 2
    bill.dunning(sub, "grace_period", expect=409)
    suspended = bill.dunning(sub, "suspend")
    assert (suspended["status"], suspended["suspendedAt"]) == ("suspended", "2025-03-09T00:00:00Z")
    bill.dunning(sub, "remind", expect=409)
    paid = bill.pay(invoice)
    assert (paid["status"], paid["paidAt"]) == ("paid", "2025-03-09T00:00:00Z")
    back = bill.get(sub)
    assert (back["status"], back["dunning"]["gracePeriodEndsAt"]) == ("active", None)


def test_grace_period_expires_into_suspended(bill: Api) -> None:
    sub, _ = _overdue(bill)
    bill.advance(days=8)
    bill.dunning(sub, "grace_period")
    bill.advance(days=6)
    assert bill.get(sub)["status"] == "grace_period"
    bill.advance(days=1)
    suspended = bill.get(sub)
    assert (suspended["status"], suspended["suspendedAt"]) == ("suspended", "2025-03-16T00:00:00Z")


def test_remind_from_active_with_open_invoice(bill: Api) -> None:
    sub, _ = _overdue(bill)
    assert bill.dunning(sub, "remind")["status"] == "past_due"


def test_nothing_to_collect(bill: Api) -> None:
    sub = bill.subscribe(bill.plan(2000), bill.customer())
    body = bill.dunning(sub, "remind", expect=409)
    assert "nothing to collect" in body["error"]
    assert bill.get(sub) == sub


@pytest.mark.parametrize(("action", "extra"), [("grace_period", {}), ("suspend", {})])
def test_escalation_must_be_in_order(bill: Api, action: str, extra: dict) -> None:
    sub, _ = _overdue(bill)
    bill.dunning(sub, action, expect=409, **extra)


def test_grace_days_with_another_action_is_400(bill: Api) -> None:
    sub, _ = _overdue(bill)
    bill.advance(days=8)
    bill.dunning(sub, "remind", expect=400, graceDays=3)


def test_paying_one_of_two_open_invoices_keeps_past_due(bill: Api) -> None:
    sub, first = _overdue(bill)
    bill.advance(months=1)
    second = bill.invoice(sub)
    assert bill.get(sub)["status"] == "past_due"
    bill.pay(first)
    assert bill.get(sub)["status"] == "past_due"
    bill.pay(second)
    assert bill.get(sub)["status"] == "active"


def test_paid_in_time_never_goes_past_due(bill: Api) -> None:
    sub, invoice = _overdue(bill)
    bill.advance(days=3)
    bill.pay(invoice)
    bill.advance(days=20)
    assert bill.get(sub)["status"] == "active"
