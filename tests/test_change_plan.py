"""change-plan through the HTTP API: the worked examples of docs/proration.md to the minor unit."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from billing_support import Api, entity_api

from mock_server.resources import spec_path

bill = pytest.fixture(entity_api)


def _setup(bill: Api, old: int, new: int, tax: int = 0, **new_plan: Any) -> tuple[dict, dict, dict]:
    customer = bill.customer(tax=tax)
    old_plan = bill.plan(old, name="Old")
    sub = bill.subscribe(old_plan, customer)
    return customer, sub, bill.plan(new, name="New", **new_plan)


def test_example_1_upgrade_pending(bill: Api) -> None:
    _, sub, pro = _setup(bill, 2000, 5000)
    result = bill.change(sub, pro, prorationDate="2025-03-11")
    p = result["proration"]
    assert (p["periodStart"], p["periodEnd"], p["daysInPeriod"], p["daysRemaining"]) == (
        "2025-03-01",
        "2025-04-01",
        31,
        21,
    )
    assert (p["credit"], p["charge"], p["net"]) == (-1355, 3387, 2032)
    assert [(x["amount"], x["periodStart"], x["periodEnd"], x["proration"]) for x in p["lines"]] == [
        (-1355, "2025-03-11", "2025-04-01", True),
        (3387, "2025-03-11", "2025-04-01", True),
    ]
    assert result["invoice"] is None
    new = result["subscription"]
    assert (new["planId"], new["unitAmount"], new["currentPeriodEnd"]) == (pro["id"], 5000, "2025-04-01")
    assert [x["amount"] for x in new["pendingInvoiceItems"]] == [-1355, 3387]


def test_example_1_always_invoice_with_tax(bill: Api) -> None:
    _, sub, pro = _setup(bill, 2000, 5000, tax=825)
    bill.advance(days=10)
    result = bill.change(sub, pro, prorationBehavior="always_invoice")
    invoice = result["invoice"]
    assert [x["taxAmount"] for x in invoice["lines"]] == [-112, 279]
    assert (invoice["subtotal"], invoice["taxTotal"], invoice["total"], invoice["amountDue"]) == (2032, 167, 2199, 2199)
    assert (invoice["status"], invoice["periodStart"], invoice["periodEnd"]) == ("open", "2025-03-11", "2025-04-01")
    assert result["subscription"]["latestInvoiceId"] == invoice["id"]
    assert result["subscription"]["pendingInvoiceItems"] == []


def test_example_2_downgrade_pending_then_april_bill(bill: Api) -> None:
    _, sub, basic = _setup(bill, 5000, 2000)
    bill.invoice(sub)
    p = bill.change(sub, basic, prorationDate="2025-03-21")["proration"]
    assert (p["daysRemaining"], p["credit"], p["charge"], p["net"]) == (11, -1774, 710, -1064)
    bill.advance(months=1)
    april = bill.invoice(sub)
    assert april["subtotal"] == 936
    assert [x["amount"] for x in april["lines"]] == [-1774, 710, 2000]


def test_example_2_downgrade_always_invoice_then_credit(bill: Api) -> None:
    customer, sub, basic = _setup(bill, 5000, 2000)
    bill.invoice(sub)
    result = bill.change(sub, basic, prorationDate="2025-03-21", prorationBehavior="always_invoice")
    credit_note = result["invoice"]
    assert (credit_note["total"], credit_note["amountDue"], credit_note["status"]) == (-1064, 0, "paid")
    assert credit_note["creditApplied"] == 0
    assert bill.balance(customer) == 1064
    bill.advance(months=1)
    april = bill.invoice(sub)
    assert (april["subtotal"], april["creditApplied"], april["amountDue"]) == (2000, 1064, 936)
    assert bill.balance(customer) == 0


def test_example_3_monthly_to_yearly(bill: Api) -> None:
    _, sub, yearly = _setup(bill, 5000, 50000, interval="year")
    result = bill.change(sub, yearly, prorationDate="2025-03-11")
    p = result["proration"]
    assert (p["credit"], p["charge"], p["net"]) == (-3387, 50000, 46613)
    new = result["subscription"]
    assert (new["currentPeriodStart"], new["currentPeriodEnd"], new["billingCycleAnchor"], new["interval"]) == (
        "2025-03-11",
        "2026-03-11",
        "2025-03-11",
        "year",
    )
    invoice = result["invoice"]
    assert (invoice["subtotal"], invoice["periodStart"], invoice["periodEnd"]) == (46613, "2025-03-11", "2026-03-11")
    # it is the cycle invoice of the new period
    assert bill.invoice(sub, expect=200)["id"] == invoice["id"]


def test_example_4_jpy(bill: Api) -> None:
    bill.advance(days=31)  # 2025-04-01
    customer = bill.customer("JPY")
    sub = bill.subscribe(bill.plan(980, currency="JPY"), customer)
    p = bill.change(sub, bill.plan(1980, currency="JPY"), prorationDate="2025-04-16")["proration"]
    assert (p["daysInPeriod"], p["daysRemaining"], p["credit"], p["charge"], p["net"]) == (30, 15, -490, 990, 500)


def test_example_4_kwd(bill: Api) -> None:
    customer = bill.customer("KWD")
    sub = bill.subscribe(bill.plan(12500, currency="KWD"), customer)
    p = bill.change(sub, bill.plan(20000, currency="KWD"), prorationDate="2025-03-11")["proration"]
    assert p["credit"] == -8468


def test_none_switches_only(bill: Api) -> None:
    _, sub, weekly = _setup(bill, 5000, 1000, interval="week")
    result = bill.change(sub, weekly, prorationDate="2025-03-11", prorationBehavior="none")
    assert result["invoice"] is None and result["proration"]["lines"] == []
    new = result["subscription"]
    assert (new["currentPeriodStart"], new["currentPeriodEnd"], new["pendingInvoiceItems"]) == (
        "2025-03-11",
        "2025-03-18",
        [],
    )
    assert bill.invoice(sub)["periodStart"] == "2025-03-11"


def test_trialing_switches_plan_and_quantity(bill: Api) -> None:
    customer = bill.customer()
    sub = bill.subscribe(bill.plan(2000, trialDays=14), customer)
    result = bill.change(sub, bill.plan(5000), quantity=4, prorationBehavior="always_invoice")
    assert result["invoice"] is None
    p = result["proration"]
    assert (p["credit"], p["charge"], p["net"], p["lines"]) == (0, 0, 0, [])
    new = result["subscription"]
    assert (new["status"], new["trialEnd"], new["quantity"], new["unitAmount"]) == ("trialing", "2025-03-15", 4, 5000)


def test_unusable_requests_are_422_and_change_nothing(bill: Api) -> None:
    _, sub, pro = _setup(bill, 2000, 5000)
    archived = bill.plan(5000, active=False)
    euro = bill.plan(5000, currency="EUR")
    same = {"id": sub["planId"]}
    for plan, extra in (
        (archived, {}),
        (euro, {}),
        (same, {}),
        (pro, {"prorationDate": "2025-04-01"}),
        (pro, {"prorationDate": "2025-02-28"}),
        ({"id": "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10"}, {}),
    ):
        bill.change(sub, plan, expect=422, **extra)
    assert bill.get(sub) == sub
    assert bill.change(sub, same, quantity=2)["proration"]["net"] == 2000  # C = S: a full period more


@pytest.mark.parametrize("status", ["paused", "canceled"])
def test_only_trialing_or_active(bill: Api, status: str) -> None:
    _, sub, pro = _setup(bill, 2000, 5000)
    bill.patch(sub, {"status": status})
    bill.change(sub, pro, expect=409)


def test_past_due_is_409(bill: Api) -> None:
    _, sub, pro = _setup(bill, 2000, 5000)
    bill.invoice(sub, {"dueInDays": 0})
    bill.advance(days=1)
    assert bill.get(sub)["status"] == "past_due"
    bill.change(sub, pro, expect=409)


def _line_shape(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("quantity", "unitAmount", "amount", "taxRateBps", "taxAmount", "periodStart", "periodEnd", "proration")
    return [tuple(line[k] for k in keys) for line in lines]


def test_spec_examples_show_what_the_mock_answers(bill: Api) -> None:
    """The changePlan and trialing examples of openapi/sales.yaml agree with the mock beyond their totals:
    the quantity and unitAmount of proration lines, and a trial's billingCycleAnchor (its trialEnd)."""
    spec_file = spec_path()
    examples = yaml.safe_load(spec_file.read_text())["components"]["examples"]
    trialing = bill.subscribe(bill.plan(5000, trialDays=14), bill.customer(), quantity=5)
    keys = ("status", "quantity", "trialEnd", "billingCycleAnchor", "currentPeriodStart", "currentPeriodEnd")
    assert [trialing[k] for k in keys] == [examples["SubscriptionTrialing"]["value"][k] for k in keys]
    assert trialing["billingCycleAnchor"] == "2025-03-15"
    _, sub, pro = _setup(bill, 2000, 5000, tax=825)
    bill.advance(days=10)
    got = bill.change(sub, pro, prorationBehavior="always_invoice")
    shown = examples["ChangePlanUpgradeAlwaysInvoice"]["value"]
    assert _line_shape(got["proration"]["lines"]) == _line_shape(shown["proration"]["lines"])
    assert _line_shape(got["invoice"]["lines"]) == _line_shape(shown["invoice"]["lines"])
    assert [(line["quantity"], line["unitAmount"]) for line in got["invoice"]["lines"]] == [(1, 2000), (1, 5000)]
