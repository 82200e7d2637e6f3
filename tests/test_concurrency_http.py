"""Many concurrent clients over real HTTP against one ``sales-mock serve`` process (127.0.0.1 only):
no lost update, no duplicate cycle invoice, and every billing invariant intact afterwards.

Every client call has a timeout and every pool is bounded in workers and requests.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from livemock import LiveMock, Reply, live_mock

pytestmark = pytest.mark.live

WORKERS = 16


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMock]:
    with live_mock(tmp_path_factory.mktemp("concurrency")) as server:
        yield server


def run_all(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Run ``calls`` on ``WORKERS`` threads at once; every call carries its own socket timeout."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda call: call(), calls, timeout=120))


def round_half_away(value: Fraction) -> int:
    """Round to an integer, half away from zero."""
    magnitude = int(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


class Billing:
    """One fresh entity with a USD customer (825 bps), two monthly plans and a yearly one."""

    def __init__(self, mock: LiveMock) -> None:
        self.mock = mock
        self.entity, self.key = mock.new_entity("empty")
        made = mock.request(
            "POST",
            f"/__admin/entities/{self.entity}/customers",
            {"name": "Concurrent Inc", "currency": "USD", "taxRateBps": 825},
            token=None,
        )
        assert made.status == 201, made.body
        self.customer = made.json["id"]
        self.basic = self.plan("basic", 2000, "month")
        self.pro = self.plan("pro", 5000, "month")
        self.yearly = self.plan("pro-yearly", 50000, "year")

    @property
    def q(self) -> str:
        return f"?entityId={self.entity}"

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        sep = "&" if "?" in path else "?"
        return self.mock.request(method, f"/api/sales{path}{sep}entityId={self.entity}", body, token=self.key)

    def plan(self, code: str, amount: int, interval: str) -> str:
        body = {"code": code, "name": code, "currency": "USD", "amount": amount, "interval": interval}
        reply = self.call("POST", "/plans", body)
        assert reply.status == 201, reply.body
        return str(reply.json["id"])

    def subscription(self, plan: str) -> str:
        reply = self.call("POST", "/subscriptions", {"planId": plan, "customerId": self.customer})
        assert reply.status == 201, reply.body
        assert reply.json["status"] == "active", reply.json
        return str(reply.json["id"])

    def invoices(self) -> list[dict[str, Any]]:
        reply = self.mock.request("GET", f"/__admin/entities/{self.entity}/invoices", token=None)
        assert reply.status == 200, reply.body
        return list(reply.json["data"])

    def customer_balance(self) -> int:
        customers = self.call("GET", "/customers").json["data"]
        return int(next(c for c in customers if c["id"] == self.customer)["creditBalance"])


def test_concurrent_create_quote_loses_nothing(mock: LiveMock) -> None:
    """64 clients create a quote at once: 64 quotes, numbers distinct and consecutive."""
    billing = Billing(mock)
    body = {"customerId": billing.customer, "lines": [{"description": "Seat", "quantity": 3, "unitPrice": 999}]}
    replies = run_all([lambda: billing.call("POST", "/quotes", body) for _ in range(64)])
    assert [r.status for r in replies] == [201] * 64, [r.body[:200] for r in replies if r.status != 201]
    numbers = sorted(int(r.json["number"].removeprefix("Q-")) for r in replies)
    assert numbers == list(range(1, 65))
    assert len({r.json["id"] for r in replies}) == 64
    listing = billing.call("GET", "/quotes?pageSize=100").json
    assert listing["total"] == 64
    assert {q["id"] for q in listing["data"]} == {r.json["id"] for r in replies}
    for reply in replies:
        quote = reply.json
        assert quote["subtotal"] == 2997 and quote["taxTotal"] == 247 and quote["total"] == 3244


def test_concurrent_generate_invoice_bills_the_period_once(mock: LiveMock) -> None:
    """24 clients ask for the same subscription's invoice at once: one 201, the rest 200 with the same invoice."""
    billing = Billing(mock)
    sub = billing.subscription(billing.basic)
    replies = run_all([lambda: billing.call("POST", f"/subscriptions/{sub}/generate-invoice", {}) for _ in range(24)])
    statuses = Counter(r.status for r in replies)
    assert statuses == {201: 1, 200: 23}, statuses
    assert len({r.json["id"] for r in replies}) == 1
    invoices = [i for i in billing.invoices() if i["subscriptionId"] == sub]
    assert len(invoices) == 1
    assert invoices[0]["total"] == 2000 + 165


def check_invoice_sums(invoice: dict[str, Any]) -> None:
    lines = invoice["lines"]
    assert invoice["subtotal"] == sum(line["amount"] for line in lines)
    assert invoice["taxTotal"] == sum(line["taxAmount"] for line in lines)
    assert invoice["total"] == invoice["subtotal"] + invoice["taxTotal"]
    for line in lines:
        assert line["taxAmount"] == round_half_away(Fraction(line["amount"] * line["taxRateBps"], 10000))
    if invoice["total"] > 0:
        assert 0 <= invoice["creditApplied"] <= invoice["total"]
        assert invoice["amountDue"] == invoice["total"] - invoice["creditApplied"]
    else:
        assert invoice["creditApplied"] == 0 and invoice["amountDue"] == 0
    assert (invoice["status"] == "paid") == (invoice["amountDue"] == 0)


@pytest.mark.parametrize("cadences", ["monthly", "monthly+yearly"])
def test_concurrent_plan_changes_cancels_and_invoices_keep_every_invariant(mock: LiveMock, cadences: str) -> None:
    """16 clients change plans (every proration behaviour), invoice, remind
    and cancel the same four subscriptions, 320 requests in all. Afterwards: no 5xx, every invoice
    adds up, every invoice a client was told of exists
    (and no other), the customer's credit balance is exactly what the invoices imply, and
    canceled subscriptions stayed canceled. With one cadence (periods never reset) each period
    also has exactly one cycle invoice; a cadence change legitimately starts a new period, which
    on a frozen clock may have the same dates as an earlier one."""
    billing = Billing(mock)
    subs = [billing.subscription(billing.basic) for _ in range(4)]
    start_balance = billing.customer_balance()
    rng = random.Random(20250301)
    plans = [billing.basic, billing.pro] if cadences == "monthly" else [billing.basic, billing.pro, billing.yearly]
    behaviours = ["create_prorations", "always_invoice", "none"]

    def change(sub: str) -> Callable[[], Reply]:
        body = {
            "newPlanId": rng.choice(plans),
            "quantity": rng.randint(1, 3),
            "prorationBehavior": rng.choice(behaviours),
        }
        return lambda: billing.call("POST", f"/subscriptions/{sub}/change-plan", body)

    calls: list[tuple[str, str, Callable[[], Reply]]] = []
    for i in range(320):
        sub = subs[i % len(subs)]
        roll = rng.random()
        if roll < 0.5:
            calls.append(("change", sub, change(sub)))
        elif roll < 0.8:
            calls.append(
                ("invoice", sub, lambda s=sub: billing.call("POST", f"/subscriptions/{s}/generate-invoice", {}))
            )
        elif roll < 0.9:
            calls.append(
                ("remind", sub, lambda s=sub: billing.call("POST", f"/subscriptions/{s}/dunning", {"action": "remind"}))
            )
        elif i > 200 and sub in subs[:2]:
            calls.append(
                ("cancel", sub, lambda s=sub: billing.call("PATCH", f"/subscriptions/{s}", {"status": "canceled"}))
            )
        else:
            calls.append(("read", sub, lambda: billing.call("GET", "/subscriptions")))
    replies = run_all([call for _, _, call in calls])

    assert not [r for r in replies if r.status >= 500], [r.body[:300] for r in replies if r.status >= 500]
    assert all(r.status in (200, 201, 409, 422) for r in replies), Counter(r.status for r in replies)
    told: set[str] = set()
    for (kind, _, _), reply in zip(calls, replies, strict=True):
        if kind == "change" and reply.status == 200:
            proration = reply.json["proration"]
            assert proration["net"] == proration["credit"] + proration["charge"]
            assert sum(line["amount"] for line in proration["lines"]) == proration["net"]
            if reply.json["invoice"] is not None:
                told.add(reply.json["invoice"]["id"])
        if kind == "invoice" and reply.status in (200, 201):
            told.add(reply.json["id"])
    assert any(r.status == 200 for (kind, _, _), r in zip(calls, replies, strict=True) if kind == "change")

    invoices = billing.invoices()
    assert {i["id"] for i in invoices} == told
    numbers = sorted(int(i["number"].removeprefix("INV-")) for i in invoices)
    assert numbers == list(range(1, len(invoices) + 1))
    for invoice in invoices:
        check_invoice_sums(invoice)
    cycle_periods = Counter(
        (i["subscriptionId"], i["periodStart"], i["periodEnd"])
        for i in invoices
        if any(not line["proration"] and line["periodStart"] == i["periodStart"] for line in i["lines"])
    )
    if cadences == "monthly":
        assert all(count == 1 for count in cycle_periods.values()), cycle_periods
    credit = sum(-i["total"] for i in invoices if i["total"] < 0) - sum(i["creditApplied"] for i in invoices)
    assert billing.customer_balance() == start_balance + credit
    listed = {s["id"]: s for s in billing.call("GET", "/subscriptions").json["data"]}
    for sub in subs:
        state = listed[sub]
        if state["status"] == "canceled":
            assert state["canceledAt"] is not None
        if state["latestInvoiceId"] is not None:
            assert state["latestInvoiceId"] in told
        assert state["planId"] in plans
    assert mock.alive()


def test_no_traceback_in_the_server_log(mock: LiveMock, tmp_path: Path) -> None:
    assert "Traceback" not in mock.log_tail(200_000), mock.log_tail()
