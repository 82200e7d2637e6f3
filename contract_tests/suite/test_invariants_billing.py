"""Layer 3 (billing): invoices, credit, proration and subscription transitions, recomputed by the oracle.

Every scenario makes its own plans and subscriptions, so it works on any entity with a USD customer.
Dates derive from the subscription's own period, so they hold on a real clock as on the frozen mock
(where they reproduce the worked examples of docs/proration.md and docs/invoicing.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from contract_tests import oracle
from contract_tests.client import SalesApi
from contract_tests.suite import scenarios

pytestmark = pytest.mark.usefixtures("writable")
Json = dict[str, Any]


def get_subscription(api: SalesApi, subscription_id: str) -> Json:
    for item in api.list_all("/subscriptions"):
        if item["id"] == subscription_id:
            return item
    raise AssertionError(f"subscription {subscription_id} is missing from GET /subscriptions")


def day_in_period(subscription: Json, offset: int) -> str:
    return (oracle.parse_date(subscription["currentPeriodStart"]) + timedelta(days=offset)).isoformat()


def change_plan(api: SalesApi, sub: Json, new_plan: Json, behavior: str, offset: int = 10) -> tuple[Json, Json]:
    """Change plan at ``periodStart + offset`` and return ``(response, expected proration)``."""
    before = get_subscription(api, sub["id"])
    when = day_in_period(before, offset)
    body = {"newPlanId": new_plan["id"], "prorationBehavior": behavior, "prorationDate": when}
    response = api.expect(200, "POST", f"/subscriptions/{sub['id']}/change-plan", json_body=body)
    expected = oracle.expected_proration(before, new_plan, oracle.parse_date(when))
    problems = oracle.problems_proration(response["proration"], expected)
    assert not problems, f"{problems}; before: {before}; response: {response['proration']}"
    return response, expected


@pytest.mark.sales_ops("generateInvoice", "createSubscription")
def test_generate_invoice_bills_once_per_period(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    sub = scenarios.subscription(api, scenarios.plan(api, 2000), customer, quantity=3)
    credit_before = scenarios.fetch_customer(api, customer["id"])["creditBalance"]
    path = f"/subscriptions/{sub['id']}/generate-invoice"
    first = api.expect(201, "POST", path, json_body={"dueInDays": 14})
    assert not oracle.problems_invoice(first, credit_before), oracle.problems_invoice(first, credit_before)
    line = first["lines"][-1]
    assert (line["quantity"], line["unitAmount"], line["amount"], line["proration"]) == (3, 2000, 6000, False)
    assert (first["periodStart"], first["periodEnd"]) == (sub["currentPeriodStart"], sub["currentPeriodEnd"])
    due = oracle.parse_date(first["issueDate"]) + timedelta(days=14)
    assert first["dueDate"] == due.isoformat()
    credit_after = scenarios.fetch_customer(api, customer["id"])["creditBalance"]
    assert credit_after == credit_before - first["creditApplied"], "credit applied must leave the balance"
    second = api.expect(200, "POST", path, json_body={"dueInDays": 14})
    assert second == first, "generate-invoice twice in a period must return the same invoice unchanged"
    assert get_subscription(api, sub["id"])["latestInvoiceId"] == first["id"]


@pytest.mark.sales_ops("changePlan")
def test_upgrade_same_cadence_creates_pending_prorations(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    basic, pro = scenarios.plan(api, 2000), scenarios.plan(api, 5000)
    sub = scenarios.subscription(api, basic, customer)
    response, expected = change_plan(api, sub, pro, "create_prorations")
    after = response["subscription"]
    assert response["invoice"] is None and after["planId"] == pro["id"] and after["unitAmount"] == 5000
    assert sorted(item["amount"] for item in after["pendingInvoiceItems"]) == [expected["credit"], expected["charge"]]
    assert (after["currentPeriodStart"], after["currentPeriodEnd"]) == (
        sub["currentPeriodStart"],
        sub["currentPeriodEnd"],
    )


@pytest.mark.sales_ops("changePlan")
def test_downgrade_always_invoice_credits_the_customer(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    basic, pro = scenarios.plan(api, 2000), scenarios.plan(api, 5000)
    sub = scenarios.subscription(api, pro, customer)
    credit_before = scenarios.fetch_customer(api, customer["id"])["creditBalance"]
    response, expected = change_plan(api, sub, basic, "always_invoice", offset=20)
    invoice = response["invoice"]
    assert not oracle.problems_invoice(invoice, credit_before), oracle.problems_invoice(invoice, credit_before)
    assert sorted(line["amount"] for line in invoice["lines"]) == [expected["credit"], expected["charge"]]
    assert invoice["total"] < 0 and invoice["status"] == "paid"
    credit_after = scenarios.fetch_customer(api, customer["id"])["creditBalance"]
    assert credit_after == credit_before - invoice["total"], "a negative invoice's total goes to the credit balance"


@pytest.mark.sales_ops("changePlan")
def test_cadence_change_resets_the_period_and_invoices(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    monthly, yearly = scenarios.plan(api, 5000), scenarios.plan(api, 50000, "year")
    sub = scenarios.subscription(api, monthly, customer)
    response, expected = change_plan(api, sub, yearly, "create_prorations")
    after, invoice = response["subscription"], response["invoice"]
    when = oracle.parse_date(day_in_period(sub, 10))
    assert after["currentPeriodStart"] == when.isoformat()
    assert after["currentPeriodEnd"] == oracle.add_interval(when, "year", 1).isoformat()
    assert invoice is not None and invoice["subtotal"] == expected["credit"] + expected["charge"]
    assert not oracle.problems_invoice(invoice)


@pytest.mark.sales_ops("changePlan", "patchPlan")
def test_change_plan_rejections(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    basic = scenarios.plan(api, 2000)
    sub = scenarios.subscription(api, basic, customer)
    path = f"/subscriptions/{sub['id']}/change-plan"
    api.expect(422, "POST", path, json_body={"newPlanId": basic["id"]})
    euro = scenarios.plan(api, 2000, currency="EUR")
    api.expect(422, "POST", path, json_body={"newPlanId": euro["id"]})
    archived = scenarios.plan(api, 3000, fresh=True)  # archived here: no other scenario may get it
    api.expect(200, "PATCH", f"/plans/{archived['id']}", json_body={"active": False})
    api.expect(422, "POST", path, json_body={"newPlanId": archived["id"]})
    api.expect(422, "POST", "/subscriptions", json_body={"planId": archived["id"], "customerId": customer["id"]})
    before_start = (oracle.parse_date(sub["currentPeriodStart"]) - timedelta(days=1)).isoformat()
    api.expect(
        422, "POST", path, json_body={"newPlanId": scenarios.plan(api, 4000)["id"], "prorationDate": before_start}
    )


@pytest.mark.sales_ops("patchSubscription", "generateInvoice", "runDunning")
def test_subscription_transitions(api: SalesApi) -> None:
    sub = scenarios.subscription(api, scenarios.plan(api, 2000), scenarios.customer(api))
    path = f"/subscriptions/{sub['id']}"
    api.expect(409, "POST", f"{path}/dunning", json_body={"action": "grace_period"})
    api.expect(409, "POST", f"{path}/dunning", json_body={"action": "suspend"})
    api.expect(409, "POST", f"{path}/dunning", json_body={"action": "remind"})
    assert scenarios.patch_status(api, "subscriptions", sub["id"], "paused")["status"] == "paused"
    api.expect(409, "POST", f"{path}/generate-invoice", json_body={})
    resumed = scenarios.patch_status(api, "subscriptions", sub["id"], "active")
    assert resumed["status"] == "active" and resumed["pausedAt"] is None
    canceled = scenarios.patch_status(api, "subscriptions", sub["id"], "canceled")
    assert canceled["status"] == "canceled" and canceled["canceledAt"]
    api.expect(409, "PATCH", path, json_body={"status": "active"})
    api.expect(409, "POST", f"{path}/generate-invoice", json_body={})


@pytest.mark.sales_ops("createSubscription", "generateInvoice", "changePlan")
def test_trial(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    trial_plan = scenarios.plan(api, 2000, trialDays=14)
    sub = scenarios.subscription(api, trial_plan, customer, trial_days=14)
    start = oracle.parse_date(sub["startDate"])
    assert sub["status"] == "trialing" and sub["trialEnd"] == (start + timedelta(days=14)).isoformat()
    assert (sub["currentPeriodStart"], sub["currentPeriodEnd"]) == (sub["startDate"], sub["trialEnd"])
    invoice = api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})
    assert [line["amount"] for line in invoice["lines"]] == [0] and invoice["status"] == "paid"
    response, _ = change_plan(api, sub, scenarios.plan(api, 5000), "always_invoice", offset=3)
    assert response["proration"]["lines"] == [] and response["subscription"]["trialEnd"] == sub["trialEnd"]


@pytest.mark.sales_ops("getDashboard", "patchSubscription")
def test_dashboard_after_cancellations(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    kept = scenarios.subscription(api, scenarios.plan(api, 1000, "week"), customer, quantity=2)
    gone = scenarios.subscription(api, scenarios.plan(api, 60000, "year"), customer)
    scenarios.patch_status(api, "subscriptions", gone["id"], "canceled")
    assert kept["status"] == "active"
    problems = scenarios.dashboard_problems(api)
    assert not problems, problems
