"""A stateful Hypothesis test: random subscription operations and clock advances through the HTTP
API, against an independent, deliberately simple model (day-by-day time, Fractions for money).
Every step compares statuses, periods, pending items, credit balances, invoices and the dashboard."""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from billing_support import Api, entity_api
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

BILLABLE = {"trialing", "active", "past_due", "grace_period"}
COUNTED = {"active", "past_due", "grace_period"}
PLANS = [
    ("basic", 2000, "month", 1, 0),
    ("pro", 5000, "month", 1, 0),
    ("yearly", 50000, "year", 1, 0),
    ("weekly", 700, "week", 1, 0),
    ("quarterly", 15000, "month", 3, 0),
    ("trial", 3000, "month", 1, 7),
    ("daily", 90, "day", 2, 0),
]
TAX = 825


def rnd(value: Fraction) -> int:
    """Half away from zero, written independently of the mock's money module."""
    sign = -1 if value < 0 else 1
    return sign * math.floor(abs(value) + Fraction(1, 2))


def add(anchor: date, interval: str, count: int, cycles: int = 1) -> date:
    if interval in ("day", "week"):
        return anchor + timedelta(days=count * cycles * (7 if interval == "week" else 1))
    months = anchor.month - 1 + count * cycles * (12 if interval == "year" else 1)
    year, month = anchor.year + months // 12, months % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


@dataclass
class Sub:
    id: str
    customer: str
    plan: str
    status: str
    interval: str
    count: int
    unit: int
    qty: int
    anchor: date
    start: date
    end: date
    trial_end: date | None
    cape: bool = False
    grace_end: date | None = None
    pending: list[int] = field(default_factory=list)
    billed: set[tuple[date, date]] = field(default_factory=set)


class BillingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._api_gen = entity_api()
        self.api: Api = next(self._api_gen)
        self.today = date(2025, 3, 1)
        self.customers = [self.api.customer(tax=TAX), self.api.customer(credit=3000)]
        self.balance = {self.customers[0]["id"]: 0, self.customers[1]["id"]: 3000}
        self.tax = {self.customers[0]["id"]: TAX, self.customers[1]["id"]: 0}
        self.plans = {name: self.api.plan(a, i, c, trialDays=t, name=name) for name, a, i, c, t in PLANS}
        self.archived = self.api.plan(100, active=False)
        self.subs: list[Sub] = []
        self.open: dict[str, tuple[str, date, int]] = {}  # invoice id -> (sub id, dueDate, amountDue)

    def teardown(self) -> None:
        self._api_gen.close()

    # model time ----------------------------------------------------------------------------

    def _events(self, sub: Sub) -> None:
        day = self.today
        if sub.status == "canceled":
            return
        if sub.cape and day >= sub.end:
            sub.status = "canceled"
            return
        if sub.status == "trialing" and sub.trial_end and day >= sub.trial_end:
            sub.status, sub.anchor, sub.start = "active", sub.trial_end, sub.trial_end
            sub.end = add(sub.anchor, sub.interval, sub.count)
        if sub.status == "active" and any(s == sub.id and due < day for s, due, _ in self.open.values()):
            sub.status = "past_due"
        if sub.status == "grace_period" and sub.grace_end and day >= sub.grace_end:
            sub.status = "suspended"

    def _pick(self, pick: int) -> Sub:
        return self.subs[pick % len(self.subs)]

    # rules -----------------------------------------------------------------------------------

    @rule(plan=st.sampled_from([p[0] for p in PLANS]), qty=st.integers(1, 3), who=st.integers(0, 1))
    def subscribe(self, plan: str, qty: int, who: int) -> None:
        customer, p = self.customers[who], self.plans[plan]
        got = self.api.subscribe(p, customer, quantity=qty)
        trial_end = self.today + timedelta(days=p["trialDays"]) if p["trialDays"] else None
        end = trial_end or add(self.today, p["interval"], p["intervalCount"])
        status = "trialing" if trial_end else "active"
        ids = (got["id"], customer["id"], p["id"])
        cadence = (p["interval"], p["intervalCount"], p["amount"], qty)
        self.subs.append(Sub(*ids, status, *cadence, trial_end or self.today, self.today, end, trial_end))

    @rule(days=st.sampled_from([1, 2, 5, 9, 17, 31, 45]))
    def advance(self, days: int) -> None:
        self.api.entity.clock.advance(days=days)  # events apply lazily on the next request
        for _ in range(days):
            self.today += timedelta(days=1)
            for sub in self.subs:
                self._events(sub)

    @precondition(lambda self: self.subs)
    @rule(pick=st.integers(0, 999), due=st.sampled_from([0, 0, 3, 30]))
    def generate_invoice(self, pick: int, due: int) -> None:
        sub = self._pick(pick)
        if sub.status not in BILLABLE:
            self.api.invoice({"id": sub.id}, {"dueInDays": due}, expect=409)
            return
        if (sub.start, sub.end) in sub.billed and self.today < sub.end:
            self.api.invoice({"id": sub.id}, {"dueInDays": due}, expect=200)
            return
        if (sub.start, sub.end) in sub.billed:
            cycles = 0
            while add(sub.anchor, sub.interval, sub.count, cycles) <= sub.end:
                cycles += 1
            sub.start, sub.end = sub.end, add(sub.anchor, sub.interval, sub.count, cycles)
        amounts = [*sub.pending, 0 if sub.status == "trialing" else sub.qty * sub.unit]
        sub.pending = []
        sub.billed.add((sub.start, sub.end))
        invoice = self.api.invoice({"id": sub.id}, {"dueInDays": due}, expect=201)
        self._check_bill(sub, invoice, amounts, self.today + timedelta(days=due))
        assert (invoice["periodStart"], invoice["periodEnd"]) == (sub.start.isoformat(), sub.end.isoformat())

    @precondition(lambda self: any(s.status == "active" for s in self.subs))
    @rule(pick=st.integers(0, 999))
    def lapse(self, pick: int) -> None:
        """Bill an active subscription with dueInDays 0 and let a day pass: it falls past_due."""
        active = [s for s in self.subs if s.status == "active"]
        self.generate_invoice(self.subs.index(active[pick % len(active)]), 0)
        self.advance(1)

    def _check_bill(self, sub: Sub, invoice: dict[str, Any], amounts: list[int], due: date) -> None:
        rate = self.tax[sub.customer]
        taxes = [rnd(Fraction(a * rate, 10000)) for a in amounts]
        total = sum(amounts) + sum(taxes)
        applied = min(self.balance[sub.customer], total) if total > 0 else 0
        self.balance[sub.customer] += -applied if total > 0 else -total
        amount_due = total - applied if total > 0 else 0
        assert [line["amount"] for line in invoice["lines"]] == amounts
        assert (invoice["total"], invoice["creditApplied"], invoice["amountDue"]) == (total, applied, amount_due)
        assert invoice["status"] == ("paid" if amount_due == 0 else "open")
        if amount_due:
            self.open[invoice["id"]] = (sub.id, due, amount_due)
        self._events(sub)

    @precondition(lambda self: self.open)
    @rule(pick=st.integers(0, 999))
    def pay(self, pick: int) -> None:
        invoice_id = list(self.open)[pick % len(self.open)]  # creation order: ids are random
        sub_id, _, _ = self.open.pop(invoice_id)
        assert self.api.pay({"id": invoice_id})["status"] == "paid"
        sub = next(s for s in self.subs if s.id == sub_id)
        if sub.status in ("past_due", "grace_period", "suspended") and all(
            s != sub_id for s, _, _ in self.open.values()
        ):
            sub.status, sub.grace_end = "active", None

    @precondition(lambda self: self.subs)
    @rule(pick=st.integers(0, 999), action=st.sampled_from(["paused", "active", "canceled", "cape", "uncape"]))
    def patch(self, pick: int, action: str) -> None:
        sub = self._pick(pick)
        expected, change = self._patch_rule(sub, action)
        body = {"cancelAtPeriodEnd": action == "cape"} if action in ("cape", "uncape") else {"status": action}
        self.api.patch({"id": sub.id}, body, expect=expected)
        if change:
            change()
            self._events(sub)

    def _patch_rule(self, sub: Sub, action: str) -> tuple[int, Any]:
        status = sub.status
        if status == "canceled":
            return (200 if action == "canceled" else 409), None
        if action in ("cape", "uncape"):
            flag = action == "cape"
            if flag == sub.cape:
                return 200, None
            if flag and status not in BILLABLE:
                return 409, None
            return 200, lambda: setattr(sub, "cape", flag)
        if action == status:
            return 200, None
        if action == "canceled":
            return 200, lambda: setattr(sub, "status", "canceled")
        if action == "paused" and status == "active":
            return 200, lambda: setattr(sub, "status", "paused")
        if action == "active" and status == "paused":
            return 200, lambda: self._restart(sub, self.today, "active")
        return 409, None

    def _restart(self, sub: Sub, anchor: date, status: str) -> None:
        sub.status, sub.anchor, sub.start = status, anchor, anchor
        sub.end = add(anchor, sub.interval, sub.count)

    @precondition(lambda self: self.subs)
    @rule(pick=st.integers(0, 999), action=st.sampled_from(["remind", "grace_period", "suspend"]))
    def dunning(self, pick: int, action: str) -> None:
        self._dunning(self._pick(pick), action)

    @precondition(lambda self: any(s.status in ("past_due", "grace_period", "suspended") for s in self.subs))
    @rule(pick=st.integers(0, 999))
    def collect(self, pick: int) -> None:
        """The next collection step of a collecting subscription (random actions rarely get that far):
        past_due -> grace period, grace period -> suspend, suspended -> pay every open invoice."""
        collecting = [s for s in self.subs if s.status in ("past_due", "grace_period", "suspended")]
        sub = collecting[pick % len(collecting)]
        if sub.status != "suspended":
            self._dunning(sub, "grace_period" if sub.status == "past_due" else "suspend")
            return
        for invoice_id in [i for i, (s, _, _) in self.open.items() if s == sub.id]:
            self.pay(list(self.open).index(invoice_id))
        assert sub.status == "active"

    def _dunning(self, sub: Sub, action: str) -> None:
        has_open = any(s == sub.id for s, _, _ in self.open.values())
        if action == "remind" and sub.status in ("active", "past_due", "grace_period") and has_open:
            self.api.dunning({"id": sub.id}, action)
            sub.status = "grace_period" if sub.status == "grace_period" else "past_due"
        elif action == "grace_period" and sub.status == "past_due":
            self.api.dunning({"id": sub.id}, action, graceDays=4)
            sub.status, sub.grace_end = "grace_period", self.today + timedelta(days=4)
        elif action == "suspend" and sub.status == "grace_period":
            self.api.dunning({"id": sub.id}, action)
            sub.status = "suspended"
        else:
            self.api.dunning({"id": sub.id}, action, expect=409)

    @precondition(lambda self: self.subs)
    @rule(
        pick=st.integers(0, 999),
        plan=st.sampled_from([p[0] for p in PLANS] + ["archived"]),
        qty=st.integers(1, 3),
        behavior=st.sampled_from(["create_prorations", "always_invoice", "none"]),
    )
    def change_plan(self, pick: int, plan: str, qty: int, behavior: str) -> None:
        sub = self._pick(pick)
        p = self.archived if plan == "archived" else self.plans[plan]
        call = {"quantity": qty, "prorationBehavior": behavior}
        if sub.status not in ("trialing", "active"):
            self.api.change({"id": sub.id}, p, expect=409, **call)
            return
        unusable = plan == "archived" or (p["id"] == sub.plan and qty == sub.qty)
        if unusable or not sub.start <= self.today < sub.end:
            self.api.change({"id": sub.id}, p, expect=422, **call)
            return
        result = self.api.change({"id": sub.id}, p, **call)
        same = (p["interval"], p["intervalCount"]) == (sub.interval, sub.count)
        lines = self._prorate(sub, p, qty, behavior, same)
        assert [line["amount"] for line in result["proration"]["lines"]] == lines
        sub.plan, sub.qty, sub.unit = p["id"], qty, p["amount"]
        self._invoice_of_change(sub, result, lines, behavior, same)
        self._events(sub)

    def _prorate(self, sub: Sub, plan: dict[str, Any], qty: int, behavior: str, same: bool) -> list[int]:
        days, remaining = (sub.end - sub.start).days, (sub.end - self.today).days
        trialing = sub.status == "trialing"
        sub.interval, sub.count = plan["interval"], plan["intervalCount"]
        if trialing or behavior == "none":
            if not trialing and not same:
                self._restart(sub, self.today, sub.status)
            return []
        credit = -rnd(Fraction(sub.unit * sub.qty * remaining, days))
        new = plan["amount"] * qty
        charge = rnd(Fraction(new * remaining, days)) if same else new
        if not same:
            self._restart(sub, self.today, sub.status)
        return [credit, charge]

    def _invoice_of_change(self, sub: Sub, result: dict[str, Any], lines: list[int], behavior: str, same: bool) -> None:
        if not lines or (behavior == "create_prorations" and same):
            sub.pending += lines
            assert result["invoice"] is None
            return
        amounts = [*sub.pending, *lines]
        sub.pending = []
        if not same:
            sub.billed.add((sub.start, sub.end))
        self._check_bill(sub, result["invoice"], amounts, self.today + timedelta(days=30))

    # invariants ------------------------------------------------------------------------------

    @invariant()
    def subscriptions_match_the_model(self) -> None:
        listed = {s["id"]: s for s in self.api.call("GET", "/subscriptions", expect=200)["data"]}
        for sub in self.subs:
            got = listed[sub.id]
            assert got["status"] == sub.status, (sub, got)
            assert (got["currentPeriodStart"], got["currentPeriodEnd"]) == (sub.start.isoformat(), sub.end.isoformat())
            assert (got["quantity"], got["unitAmount"], got["cancelAtPeriodEnd"]) == (sub.qty, sub.unit, sub.cape)
            assert [line["amount"] for line in got["pendingInvoiceItems"]] == sub.pending
        for customer_id, balance in self.balance.items():
            assert self.api.entity.read("customers", customer_id)["creditBalance"] == balance

    @invariant()
    def invoices_add_up(self) -> None:
        for invoice in self.api.entity.scan("invoices"):
            assert invoice["subtotal"] == sum(line["amount"] for line in invoice["lines"])
            assert invoice["total"] == invoice["subtotal"] + invoice["taxTotal"]
            expected_due = invoice["total"] - invoice["creditApplied"] if invoice["total"] > 0 else 0
            assert invoice["amountDue"] == expected_due
            assert all(type(invoice[k]) is int for k in ("subtotal", "taxTotal", "total", "creditApplied", "amountDue"))

    @invariant()
    def dashboard_matches_the_model(self) -> None:
        board = self.api.call("GET", "/dashboard", expect=200)
        rows = {row["currency"]: row for row in board["revenue"]}
        normalise = {"month": Fraction(1), "year": Fraction(1, 12), "week": Fraction(52, 12), "day": Fraction(365, 12)}
        mrr = sum(
            (normalise[s.interval] * s.unit * s.qty / s.count for s in self.subs if s.status in COUNTED), Fraction(0)
        )
        usd = rows.get("USD", {"mrr": 0, "arr": 0, "outstandingAmount": 0})
        assert (usd["mrr"], usd["arr"]) == (rnd(mrr), rnd(12 * mrr))
        assert usd["outstandingAmount"] == sum(amount for _, _, amount in self.open.values())
        assert board["subscriptions"]["total"] == len(self.subs)


BillingMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBillingMachine = BillingMachine.TestCase
