"""Time-driven events: exact, in time order, lazy, O(due events); one advance or many, same state."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from billing_support import Api, entity_api
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.clock import EntityClock
from mock_server.domain.subscriptions import new_subscription
from mock_server.services import subscriptions as subscription_services
from mock_server.store import EntityState

bill = pytest.fixture(entity_api)
second = pytest.fixture(entity_api)


def _scenario(api: Api) -> list[dict[str, Any]]:
    """Subscriptions that meet every kind of event over ~3 months."""
    customer = api.customer(tax=500)
    monthly, weekly = api.plan(2000), api.plan(700, "week")
    trial = api.plan(3000, trialDays=10)
    subs = [api.subscribe(p, customer) for p in (monthly, weekly, trial, trial, monthly)]
    api.patch(subs[3], {"cancelAtPeriodEnd": True})
    api.patch(subs[4], {"cancelAtPeriodEnd": True})
    api.invoice(subs[0], {"dueInDays": 5})
    api.invoice(subs[1], {"dueInDays": 0})
    api.advance(days=1)
    api.dunning(subs[1], "grace_period", graceDays=20)
    return subs


def _state(api: Api, subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {s["id"]: f"sub{i}" for i, s in enumerate(subs)}
    listed = api.call("GET", "/subscriptions", expect=200)["data"]
    hidden = ("id", "customerId", "planId", "latestInvoiceId")
    return [{k: v for k, v in s.items() if k not in hidden} | {"n": ids[s["id"]]} for s in listed]


def test_one_advance_or_many_gives_identical_state(bill: Api, second: Api) -> None:
    subs_a, subs_b = _scenario(bill), _scenario(second)
    for _ in range(90):
        bill.advance(days=1)
        bill.call("GET", "/subscriptions", expect=200)
    second.advance(days=90)
    state = _state(bill, subs_a)
    assert state == _state(second, subs_b)
    assert [s["status"] for s in reversed(state)] == ["past_due", "suspended", "active", "canceled", "canceled"]


def test_clock_only_moves_forward(bill: Api) -> None:
    with pytest.raises(Exception, match="only moves forward"):
        bill.entity.clock.advance_to(datetime(2025, 2, 1, tzinfo=UTC))


def _big_entity(count: int) -> EntityState:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    entity = EntityState(id="e", name="big", base_currency="USD", clock=EntityClock(frozen_at=start))
    plan = {"id": "p", "amount": 1000, "currency": "USD", "interval": "month", "intervalCount": 1}
    customer = {"id": "c"}
    subs = []
    for i in range(count):
        trial = 10 if i % 10_000 == 0 else 0
        sub = new_subscription(sub_id=f"s{i}", customer=customer, plan=plan, quantity=1, trial_days=trial, now=start)
        subs.append(sub)
    subscription_services.load_subscription_fixtures(entity, subs)
    return entity


def test_due_events_cost_only_what_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    entity = _big_entity(100_000)
    saved: list[str] = []
    real_save = subscription_services.save

    def counting_save(e: EntityState, sub: dict[str, Any], now: datetime) -> dict[str, Any]:
        saved.append(sub["id"])
        return real_save(e, sub, now)

    monkeypatch.setattr(subscription_services, "save", counting_save)
    started = time.perf_counter()
    for day in range(1, 10):
        subscription_services.apply_subscription_events(entity, entity.clock.now() + timedelta(days=day))
    assert saved == []
    assert time.perf_counter() - started < 0.05
    subscription_services.apply_subscription_events(entity, datetime(2025, 3, 11, tzinfo=UTC))
    assert sorted(saved) == sorted(f"s{i}" for i in range(0, 100_000, 10_000))
    assert all(entity.read("subscriptions", s)["status"] == "active" for s in saved)
    assert entity.indexes["subscriptions"].count("trialing") == 0


scenario = st.fixed_dictionaries(
    {
        "interval": st.sampled_from(["day", "week", "month", "year"]),
        "trial": st.sampled_from([0, 0, 5, 31]),
        "cape": st.booleans(),
        "due": st.none() | st.integers(0, 40),
        "grace": st.none() | st.integers(1, 20),
    }
)


def _build(api: Api, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    customer = api.customer(tax=700)
    subs = []
    for spec in specs:
        sub = api.subscribe(api.plan(1500, spec["interval"], trialDays=spec["trial"]), customer)
        if spec["cape"]:
            api.patch(sub, {"cancelAtPeriodEnd": True})
        if spec["due"] is not None and not spec["trial"]:
            api.invoice(sub, {"dueInDays": spec["due"]})
            if spec["grace"] is not None:
                api.dunning(sub, "remind")
                api.dunning(sub, "grace_period", graceDays=spec["grace"])
        subs.append(sub)
    return subs


@settings(max_examples=15, deadline=None)
@given(st.lists(scenario, min_size=1, max_size=4), st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_any_advance_split_gives_identical_state(specs: list[dict[str, Any]], steps: list[int]) -> None:
    one, many = entity_api(), entity_api()
    try:
        a, b = next(one), next(many)
        subs_a, subs_b = _build(a, specs), _build(b, specs)
        for days in steps:
            b.advance(days=days)
        a.advance(days=sum(steps))
        assert _state(a, subs_a) == _state(b, subs_b)
    finally:
        one.close()
        many.close()
