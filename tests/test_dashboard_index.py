"""Differential test of the maintained dashboard totals (``services.dashboard_index``): after any
sequence of quote, order, subscription, invoice and dunning operations, clock advances and state
restores, ``get_dashboard`` equals the reference definitions computed from scratch."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mock_server import snapshot
from mock_server.clock import EntityClock
from mock_server.domain.errors import DomainError
from mock_server.services import billing, customers, orders, plans, quotes, subscriptions
from mock_server.services.dashboard import compute_dashboard, get_dashboard
from mock_server.services.timeline import apply_due_events
from mock_server.store import EntityState, Store

PLANS = [(2000, "month", 1, 0), (60000, "year", 1, 0), (700, "week", 2, 0), (15000, "month", 3, 14), (90, "day", 1, 3)]
line_specs = st.lists(st.tuples(st.integers(1, 5), st.integers(0, 10**6)), min_size=1, max_size=3)


def _lines(specs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    return [{"description": f"item {i}", "quantity": q, "unitPrice": p} for i, (q, p) in enumerate(specs)]


class DashboardMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = Store()
        clock = EntityClock.from_mode("2025-03-01T00:00:00Z")
        self.store.add_entity(EntityState(id=str(uuid.uuid4()), name="Dash", base_currency="USD", clock=clock))
        self.customers = [self._customer(c, t) for c, t in (("USD", 825), ("USD", 0), ("EUR", 0), ("JPY", 0))]
        self.plans = {c: [self._plan(a, i, n, t, c) for a, i, n, t in PLANS] for c in ("USD", "EUR", "JPY")}
        self.currency = ["USD", "USD", "EUR", "JPY"]
        for n in range(4):  # something for every rule to act on from the first step
            self.subscribe(n, n, 1)
            self.create_quote(n, [(1, 1000 * (n + 1))])
            self.create_order(n, True, [(2, 500)])

    @property
    def entity(self) -> EntityState:
        return next(iter(self.store.entities.values()))

    def _now(self) -> Any:
        now = self.entity.clock.now()
        apply_due_events(self.entity, now)
        return now

    def _customer(self, currency: str, tax: int) -> str:
        body = {"name": "C", "currency": currency, "taxRateBps": tax}
        return str(customers.create_customer(self.entity, body, self._now())["id"])

    def _plan(self, amount: int, interval: str, count: int, trial: int, currency: str) -> str:
        body = {
            "code": f"p-{uuid.uuid4().hex[:8]}",
            "name": "P",
            "currency": currency,
            "amount": amount,
            "interval": interval,
            "intervalCount": count,
            "trialDays": trial,
        }
        return str(plans.create_plan(self.entity, body, self._now())["id"])

    def _pick(self, kind: str, index: int) -> str | None:
        ids = self.entity.ids(kind)
        return ids[index % len(ids)] if ids else None

    def _try(self, call: Any, *args: Any) -> None:
        try:
            call(self.entity, *args)
        except DomainError:
            pass

    @rule(customer=st.integers(0, 3), specs=line_specs)
    def create_quote(self, customer: int, specs: list[tuple[int, int]]) -> None:
        body = {"customerId": self.customers[customer], "lines": _lines(specs)}
        self._try(quotes.create_quote, body, self._now())

    @rule(
        index=st.integers(0, 50),
        status=st.sampled_from(["sent", "accepted", "declined", "draft"]),
        specs=st.none() | line_specs,
    )
    def patch_quote(self, index: int, status: str, specs: list[tuple[int, int]] | None) -> None:
        quote_id = self._pick("quotes", index)
        if quote_id is not None:
            body: dict[str, Any] = {"status": status}
            if specs is not None:
                body["lines"] = _lines(specs)
            self._try(quotes.patch_quote, quote_id, body, self._now())

    @rule(index=st.integers(0, 50))
    def delete_quote(self, index: int) -> None:
        quote_id = self._pick("quotes", index)
        if quote_id is not None:
            self._try(quotes.delete_quote, quote_id)

    @rule(index=st.integers(0, 50), direct=st.booleans(), specs=line_specs)
    def create_order(self, index: int, direct: bool, specs: list[tuple[int, int]]) -> None:
        if direct:
            body: dict[str, Any] = {"customerId": self.customers[index % 4], "lines": _lines(specs)}
        else:
            body = {"quoteId": self._pick("quotes", index) or str(uuid.uuid4())}
        self._try(orders.create_order, body, self._now())

    @rule(
        index=st.integers(0, 50),
        status=st.sampled_from(["confirmed", "fulfilled", "canceled"]),
        specs=st.none() | line_specs,
    )
    def patch_order(self, index: int, status: str, specs: list[tuple[int, int]] | None) -> None:
        order_id = self._pick("orders", index)
        if order_id is not None:
            body: dict[str, Any] = {"status": status}
            if specs is not None:
                body["lines"] = _lines(specs)
            self._try(orders.patch_order, order_id, body, self._now())

    @rule(index=st.integers(0, 50))
    def delete_order(self, index: int) -> None:
        order_id = self._pick("orders", index)
        if order_id is not None:
            self._try(orders.delete_order, order_id, self._now())

    @rule(customer=st.integers(0, 3), plan=st.integers(0, 4), quantity=st.integers(1, 4))
    def subscribe(self, customer: int, plan: int, quantity: int) -> None:
        plan_id = self.plans[self.currency[customer]][plan]
        body = {"customerId": self.customers[customer], "planId": plan_id, "quantity": quantity}
        self._try(subscriptions.create_subscription, body, self._now())

    @rule(
        index=st.integers(0, 50),
        body=st.sampled_from(
            [{"status": "paused"}, {"status": "active"}, {"status": "canceled"}, {"cancelAtPeriodEnd": True}]
        ),
    )
    def patch_subscription(self, index: int, body: dict[str, Any]) -> None:
        sub_id = self._pick("subscriptions", index)
        if sub_id is not None:
            self._try(subscriptions.patch, sub_id, dict(body), self._now())

    @rule(index=st.integers(0, 50), plan=st.integers(0, 4), quantity=st.integers(1, 4))
    def change_plan(self, index: int, plan: int, quantity: int) -> None:
        sub_id = self._pick("subscriptions", index)
        if sub_id is not None:
            currency = self.entity.read("subscriptions", sub_id)["currency"]
            body = {"newPlanId": self.plans[currency][plan], "quantity": quantity}
            self._try(billing.change_subscription_plan, sub_id, body, self._now())

    @rule(index=st.integers(0, 50))
    def generate_invoice(self, index: int) -> None:
        sub_id = self._pick("subscriptions", index)
        if sub_id is not None:
            self._try(billing.generate_invoice, sub_id, None, self._now())

    @rule(index=st.integers(0, 50))
    def pay_invoice(self, index: int) -> None:
        invoice_id = self._pick("invoices", index)
        if invoice_id is not None:
            self._try(subscriptions.pay_invoice, invoice_id, self._now())

    @rule(index=st.integers(0, 50), action=st.sampled_from(["remind", "grace_period", "suspend"]))
    def dunning(self, index: int, action: str) -> None:
        sub_id = self._pick("subscriptions", index)
        if sub_id is not None:
            self._try(billing.dunning, sub_id, {"action": action}, self._now())

    @rule(days=st.sampled_from([1, 3, 10, 29, 30, 31, 45, 95]))
    def advance(self, days: int) -> None:
        billing.advance_clock(self.entity, days=days)

    @rule(limit=st.sampled_from([0, 1, 5]))
    def settle(self, limit: int) -> None:
        """Between requests the server packs resources (``mock_server.packed``): the totals do not care."""
        self.entity.settle(limit)

    @rule()
    def restore(self) -> None:
        """A state import rebuilds the entity: its totals start again from the resources."""
        snapshot.restore(self.store, snapshot.snapshot(self.store))

    @invariant()
    def dashboard_equals_the_reference(self) -> None:
        now = self._now()
        assert get_dashboard(self.entity, now) == compute_dashboard(self.entity, now)


DashboardMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestDashboardIndex = DashboardMachine.TestCase
