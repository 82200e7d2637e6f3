"""Layer 3 with a clock: time-driven transitions and docs/proration.md's worked examples to the minor unit.

These need the mock's control plane (``/__admin``) to make an isolated entity with a frozen clock
and to move it; against any other server they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from contract_tests import oracle
from contract_tests.cleanup import Janitor
from contract_tests.client import SalesApi
from contract_tests.suite import needs, scenarios
from contract_tests.target import Target

pytestmark = [pytest.mark.usefixtures("writable"), pytest.mark.sales_needs("admin")]
Json = dict[str, Any]
START = "2025-03-01T00:00:00Z"


class Admin:
    def __init__(self, http: httpx.Client, entity_id: str) -> None:
        self.http, self.entity_id = http, entity_id

    def advance(self, **body: Any) -> Json:
        response = self.http.post(f"/__admin/entities/{self.entity_id}/clock/advance", json=body)
        assert response.status_code == 200, response.text
        result: Json = response.json()
        return result

    def invoices(self) -> list[Json]:
        data: list[Json] = self.http.get(f"/__admin/entities/{self.entity_id}/invoices").json()["data"]
        return data

    def pay(self, invoice_id: str) -> None:
        response = self.http.post(f"/__admin/entities/{self.entity_id}/invoices/{invoice_id}/pay")
        assert response.status_code == 200, response.text


@pytest.fixture
def world(sales_target: Target, http_client: httpx.Client, janitor: Janitor) -> Iterator[tuple[SalesApi, Admin, Json]]:
    """A fresh entity with a frozen clock at 2025-03-01 and one USD customer at 825 bps."""
    with make_world(sales_target, http_client, janitor, START) as made:
        yield made


@contextmanager
def make_world(
    sales_target: Target, http_client: httpx.Client, janitor: Janitor, clock: str
) -> Iterator[tuple[SalesApi, Admin, Json]]:
    try:
        health = http_client.get("/__admin/health")
    except httpx.HTTPError:
        health = None
    reason = needs.admin_reason(health.status_code if health is not None else None)
    if reason:
        pytest.skip(reason)
    created = http_client.post("/__admin/entities", json={"name": "contract-time", "clock": clock, "fixtures": "empty"})
    assert created.status_code == 201, created.text
    entity = created.json()
    janitor.remember("entities", entity["entityId"])
    # A throwaway entity of the mock: its key is no secret, failures print it as is.
    target = replace(sales_target, entity_id=entity["entityId"], api_key=entity["apiKeys"]["readWrite"], mock=True)
    body = {"name": "Time Co", "currency": "USD", "taxRateBps": 825}
    customer = http_client.post(f"/__admin/entities/{entity['entityId']}/customers", json=body).json()
    try:
        yield SalesApi(target, http_client), Admin(http_client, entity["entityId"]), customer
    finally:
        http_client.delete(f"/__admin/entities/{entity['entityId']}")
        janitor.forget(entity["entityId"])


def find(api: SalesApi, subscription_id: str) -> Json:
    return next(item for item in api.list_all("/subscriptions") if item["id"] == subscription_id)


@pytest.mark.sales_ops("patchQuote", "getQuote")
def test_sent_quote_expires_after_valid_until(world: tuple[SalesApi, Admin, Json]) -> None:
    api, admin, customer = world
    quote = api.create(
        "quotes", {"customerId": customer["id"], "lines": scenarios.TRICKY_LINES[:1], "validUntil": "2025-03-05"}
    )
    scenarios.patch_status(api, "quotes", quote["id"], "sent")
    admin.advance(days=4)
    assert api.expect(200, "GET", f"/quotes/{quote['id']}")["status"] == "sent", "validUntil itself is still valid"
    admin.advance(days=1)
    assert api.expect(200, "GET", f"/quotes/{quote['id']}")["status"] == "expired"
    api.expect(409, "PATCH", f"/quotes/{quote['id']}", json_body={"status": "accepted"})


@pytest.mark.sales_ops("createSubscription", "listSubscriptions")
def test_trial_end_starts_the_first_period(world: tuple[SalesApi, Admin, Json]) -> None:
    api, admin, customer = world
    sub = scenarios.subscription(api, scenarios.plan(api, 2000, trialDays=14), customer, trial_days=14)
    assert (sub["status"], sub["trialEnd"]) == ("trialing", "2025-03-15")
    admin.advance(days=14)
    after = find(api, sub["id"])
    assert (after["status"], after["currentPeriodStart"], after["currentPeriodEnd"]) == (
        "active",
        "2025-03-15",
        "2025-04-15",
    )


@pytest.mark.sales_ops("generateInvoice", "runDunning", "patchSubscription")
def test_overdue_invoice_dunning_and_payment(world: tuple[SalesApi, Admin, Json]) -> None:
    api, admin, customer = world
    sub = scenarios.subscription(api, scenarios.plan(api, 2000), customer)
    path = f"/subscriptions/{sub['id']}"
    invoice = api.expect(201, "POST", f"{path}/generate-invoice", json_body={"dueInDays": 0})
    assert (invoice["status"], invoice["amountDue"], invoice["taxTotal"]) == ("open", 2165, 165)
    admin.advance(days=1)
    assert find(api, sub["id"])["status"] == "past_due"
    api.expect(409, "POST", f"{path}/dunning", json_body={"action": "suspend"})
    reminded = api.expect(200, "POST", f"{path}/dunning", json_body={"action": "remind"})
    assert (reminded["status"], reminded["dunning"]["reminderCount"]) == ("past_due", 1)
    grace = api.expect(200, "POST", f"{path}/dunning", json_body={"action": "grace_period", "graceDays": 3})
    assert grace["status"] == "grace_period" and grace["dunning"]["gracePeriodEndsAt"] == "2025-03-05T00:00:00Z"
    admin.advance(days=3)
    assert find(api, sub["id"])["status"] == "suspended"
    admin.pay(invoice["id"])
    assert find(api, sub["id"])["status"] == "active"


@pytest.mark.sales_ops("changePlan")
def test_worked_example_1_upgrade_always_invoice(world: tuple[SalesApi, Admin, Json]) -> None:
    api, _, customer = world
    sub = scenarios.subscription(api, scenarios.plan(api, 2000), customer)
    body = {
        "newPlanId": scenarios.plan(api, 5000)["id"],
        "prorationBehavior": "always_invoice",
        "prorationDate": "2025-03-11",
    }
    result = api.expect(200, "POST", f"/subscriptions/{sub['id']}/change-plan", json_body=body)
    proration, invoice = result["proration"], result["invoice"]
    assert (proration["credit"], proration["charge"], proration["net"]) == (-1355, 3387, 2032)
    assert [line["taxAmount"] for line in invoice["lines"]] == [-112, 279]
    assert (invoice["taxTotal"], invoice["total"]) == (167, 2199)


@pytest.mark.sales_ops("changePlan", "generateInvoice")
def test_worked_example_2_downgrade_then_april_invoice(world: tuple[SalesApi, Admin, Json]) -> None:
    api, admin, customer = world
    sub = scenarios.subscription(api, scenarios.plan(api, 5000), customer)
    api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})
    body = {"newPlanId": scenarios.plan(api, 2000)["id"], "prorationDate": "2025-03-21"}
    result = api.expect(200, "POST", f"/subscriptions/{sub['id']}/change-plan", json_body=body)
    assert (result["proration"]["credit"], result["proration"]["charge"]) == (-1774, 710)
    admin.advance(to="2025-04-01T00:00:00Z")
    april = api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})
    assert april["subtotal"] == 936 and (april["periodStart"], april["periodEnd"]) == ("2025-04-01", "2025-05-01")
    assert not oracle.problems_invoice(april)


@pytest.mark.sales_ops("patchSubscription", "getDashboard")
def test_cancel_at_period_end_and_dashboard_money(world: tuple[SalesApi, Admin, Json]) -> None:
    api, admin, customer = world
    sub = scenarios.subscription(api, scenarios.plan(api, 3000), customer)
    api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={"dueInDays": 10})
    api.expect(200, "PATCH", f"/subscriptions/{sub['id']}", json_body={"cancelAtPeriodEnd": True})
    invoices = [inv for inv in admin.invoices() if inv["status"] != "void"]
    dashboard = api.expect(200, "GET", "/dashboard")
    row = next(r for r in dashboard["revenue"] if r["currency"] == "USD")
    assert row["invoicedTotal"] == sum(inv["total"] for inv in invoices)
    assert row["outstandingAmount"] == sum(inv["amountDue"] for inv in invoices if inv["status"] == "open")
    assert not oracle.problems_dashboard(
        dashboard, oracle.expected_dashboard(api.list_all("/subscriptions"), [], [], [customer])
    )
    kept = scenarios.subscription(api, scenarios.plan(api, 1000, "week"), customer)
    admin.advance(to="2025-04-01T00:00:00Z")
    after = find(api, sub["id"])
    assert (after["status"], after["canceledAt"]) == ("canceled", "2025-04-01T00:00:00Z")
    subscriptions = api.list_all("/subscriptions")
    churn = api.expect(200, "GET", "/dashboard")["churn"]
    assert churn == oracle.expected_churn(subscriptions, "2025-04-01T00:00:00Z") and kept["status"] == "active"
    assert (churn["canceledSubscriptions"], churn["subscriptionChurnRate"]) == (1, 0.5)


@pytest.mark.sales_ops("changePlan", "generateInvoice")
def test_worked_example_2_always_invoice_credit_then_april(world: tuple[SalesApi, Admin, Json]) -> None:
    api, admin, _ = world
    body = {"name": "No Tax Co", "currency": "USD", "taxRateBps": 0}
    customer = api.http.post(f"/__admin/entities/{admin.entity_id}/customers", json=body).json()
    sub = scenarios.subscription(api, scenarios.plan(api, 5000), customer)
    api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})
    change = {"newPlanId": scenarios.plan(api, 2000)["id"], "prorationBehavior": "always_invoice"}
    result = api.expect(
        200, "POST", f"/subscriptions/{sub['id']}/change-plan", json_body=change | {"prorationDate": "2025-03-21"}
    )
    invoice = result["invoice"]
    assert (invoice["total"], invoice["amountDue"], invoice["status"]) == (-1064, 0, "paid")
    assert scenarios.fetch_customer(api, customer["id"])["creditBalance"] == 1064
    admin.advance(to="2025-04-01T00:00:00Z")
    april = api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})
    assert (april["subtotal"], april["creditApplied"], april["amountDue"]) == (2000, 1064, 936)
    assert scenarios.fetch_customer(api, customer["id"])["creditBalance"] == 0


@pytest.mark.sales_ops("createSubscription", "generateInvoice", "listSubscriptions")
def test_month_end_anchor_through_a_leap_february(
    sales_target: Target, http_client: httpx.Client, janitor: Janitor
) -> None:
    """Anchored on Jan 31 of a leap year: Feb 29, then back to Mar 31 and Apr 30, counted from the anchor.
    Every answer on the way is judged by the oracle (periods from the anchor, due dates)."""
    with make_world(sales_target, http_client, janitor, "2024-01-31T00:00:00Z") as (api, admin, customer):
        sub = scenarios.subscription(api, scenarios.plan(api, 3100), customer)
        assert (sub["currentPeriodStart"], sub["currentPeriodEnd"]) == ("2024-01-31", "2024-02-29")
        path = f"/subscriptions/{sub['id']}/generate-invoice"
        periods = []
        admin.pay(api.expect(201, "POST", path, json_body={"dueInDays": 3})["id"])
        for day in ("2024-02-29", "2024-03-31", "2024-04-30"):
            admin.advance(to=f"{day}T00:00:00Z")
            invoice = api.expect(201, "POST", path, json_body={"dueInDays": 3})
            current = find(api, sub["id"])
            periods.append((current["currentPeriodStart"], current["currentPeriodEnd"], invoice["dueDate"]))
            admin.pay(invoice["id"])
        assert periods == [
            ("2024-02-29", "2024-03-31", "2024-03-03"),
            ("2024-03-31", "2024-04-30", "2024-04-03"),
            ("2024-04-30", "2024-05-31", "2024-05-03"),
        ]


@pytest.mark.sales_ops("getDashboard", "patchSubscription", "listSubscriptions")
def test_churn_counts_only_cancellations_inside_the_window(world: tuple[SalesApi, Admin, Json]) -> None:
    """Cancellations spread over five weeks, read on 2025-04-05 (window (2025-03-06, 2025-04-05]): one before
    the window, one exactly at its open start (not counted), two inside, one at now (counted); the base is the
    subscriptions started by 2025-03-06 and not canceled by then."""
    api, admin, customer = world
    plan = scenarios.plan(api, 1000)
    before, at_start, inside, at_now, kept = (scenarios.subscription(api, plan, customer) for _ in range(5))

    def cancel(sub: Json) -> None:
        scenarios.patch_status(api, "subscriptions", sub["id"], "canceled")

    cancel(before)
    admin.advance(to="2025-03-06T00:00:00Z")
    cancel(at_start)
    admin.advance(to="2025-03-21T00:00:00Z")
    cancel(inside)
    late = scenarios.subscription(api, plan, customer)  # started inside the window: not in the base
    admin.advance(to="2025-03-25T00:00:00Z")
    cancel(late)
    now = admin.advance(to="2025-04-05T00:00:00Z")["now"]
    cancel(at_now)
    subscriptions = api.list_all("/subscriptions")
    dashboard = api.expect(200, "GET", "/dashboard")
    expected = oracle.expected_churn(subscriptions, now)
    assert dashboard["asOf"] == now and kept["status"] == "active"
    assert expected == {"windowDays": 30, "canceledSubscriptions": 3, "subscriptionChurnRate": 0.6667}
    seen = [(sub["startDate"], sub["canceledAt"]) for sub in subscriptions]
    assert dashboard["churn"] == expected, f"churn {dashboard['churn']}, expected {expected} (start, canceled): {seen}"


@pytest.mark.sales_ops("runDunning", "generateInvoice")
def test_remind_in_a_grace_period_keeps_it_and_suspend_follows(world: tuple[SalesApi, Admin, Json]) -> None:
    """A reminder sent during the grace period counts, and changes neither the status nor ``gracePeriodEndsAt``;
    the next step, suspend, is then allowed."""
    api, admin, customer = world
    sub = scenarios.subscription(api, scenarios.plan(api, 2000), customer)
    path = f"/subscriptions/{sub['id']}/dunning"
    api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={"dueInDays": 0})
    admin.advance(days=1)
    api.expect(200, "POST", path, json_body={"action": "remind"})
    grace = api.expect(200, "POST", path, json_body={"action": "grace_period", "graceDays": 5})
    assert (grace["status"], grace["dunning"]["gracePeriodEndsAt"]) == ("grace_period", "2025-03-07T00:00:00Z")
    admin.advance(days=1)
    reminded = api.expect(200, "POST", path, json_body={"action": "remind"})
    for seen in (reminded, find(api, sub["id"])):
        got = (seen["status"], seen["dunning"]["reminderCount"], seen["dunning"]["lastRemindedAt"])
        assert got == ("grace_period", 2, "2025-03-03T00:00:00Z"), seen
        assert seen["dunning"]["gracePeriodEndsAt"] == "2025-03-07T00:00:00Z", "a reminder moved the grace period"
    suspended = api.expect(200, "POST", path, json_body={"action": "suspend"})
    assert (suspended["status"], suspended["suspendedAt"]) == ("suspended", "2025-03-03T00:00:00Z")
    assert find(api, sub["id"])["status"] == "suspended"


@pytest.mark.sales_ops("listCustomers")
def test_customers_are_listed_newest_first(world: tuple[SalesApi, Admin, Json]) -> None:
    """Customers are created by the control plane only: in a fresh entity, the newest is listed first."""
    api, admin, customer = world
    made = [customer["id"]]
    for name in ("Second Co", "Third Co"):
        body = {"name": name, "currency": "USD", "taxRateBps": 0}
        created = api.http.post(f"/__admin/entities/{admin.entity_id}/customers", json=body)
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
    listed = api.expect(200, "GET", "/customers")["data"]
    problems = oracle.problems_creation_order(listed, made) + oracle.problems_newest_first(listed)
    assert not problems, problems
