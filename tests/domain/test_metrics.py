"""Dashboard figures: MRR exact then rounded once, rates, churn, revenue rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from billing_factories import NOW, make_customer, make_plan, make_sub
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.metrics import (
    DashboardInput,
    _scan_subscriptions,
    _subscription_counts,
    churn,
    dashboard,
    monthly_amount,
    mrr_by_currency,
    rate,
)
from mock_server.domain.periods import format_instant


def _board(subs: list[dict], **kw: list) -> dict:
    data = DashboardInput(
        now=kw.get("now", NOW),  # type: ignore[arg-type]
        customers=kw.get("customers", []),
        quotes=kw.get("quotes", []),
        orders=kw.get("orders", []),
        subscriptions=subs,
        invoices=kw.get("invoices", []),
    )
    return dashboard(data)


def test_mrr_example_of_the_contract() -> None:
    customer = make_customer()
    subs = [
        make_sub(make_plan(2000), customer),
        make_sub(make_plan(60000, "year"), customer),
        make_sub(make_plan(15000, "month", 3), customer),
        make_sub(make_plan(1000, "week"), customer),
    ]
    board = _board(subs, customers=[customer])
    (row,) = board["revenue"]
    assert (row["currency"], row["mrr"], row["arr"], row["arpa"]) == ("USD", 16333, 196000, 16333)
    assert board["customers"] == {"total": 1, "active": 1}
    assert board["subscriptions"]["active"] == 4 and board["subscriptions"]["total"] == 4


def test_uncounted_statuses_and_day_interval() -> None:
    subs = [make_sub(make_plan(100, "day")), make_sub(make_plan(5000)) | {"status": "paused"}]
    subs.append(make_sub(make_plan(7000)) | {"status": "trialing"})
    (row,) = _board(subs)["revenue"]
    assert row["mrr"] == round(Fraction(100 * 365, 12))  # 3041.67 -> 3042
    assert row["arr"] == 36500
    assert _board(subs)["subscriptions"]["pastDue"] == 0


def test_rates() -> None:
    assert rate(2, 3) == 0.6667
    assert rate(1, 8) == 0.125
    assert rate(1, 20000) == 0.0001  # 0.00005 rounds away from zero
    assert rate(0, 0) is None


def test_quote_rates_and_rows() -> None:
    quotes = [{"status": s, "currency": "EUR", "subtotal": 100} for s in ("sent", "accepted", "declined", "converted")]
    orders = [
        {"status": "confirmed", "currency": "JPY", "subtotal": 5},
        {"status": "draft", "currency": "GBP", "subtotal": 9},
    ]
    board = _board([], quotes=quotes, orders=orders)
    assert board["quotes"]["winRate"] == 0.6667 and board["quotes"]["conversionRate"] == 0.25
    assert [r["currency"] for r in board["revenue"]] == ["EUR", "JPY"]
    assert board["revenue"][0]["openQuoteValue"] == 100
    assert board["quotes"]["total"] == 4 and board["orders"]["total"] == 2


def test_churn_window() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    old = make_sub(now=datetime(2025, 1, 1, tzinfo=UTC))
    churned = old | {"status": "canceled", "canceledAt": "2025-05-20T00:00:00Z"}
    long_gone = old | {"status": "canceled", "canceledAt": "2025-04-01T00:00:00Z"}
    fresh = make_sub(now=now - timedelta(days=3)) | {"status": "canceled", "canceledAt": "2025-05-31T00:00:00Z"}
    churn = _board([old, churned, long_gone, fresh], now=now)["churn"]  # type: ignore[arg-type]
    assert churn == {"windowDays": 30, "canceledSubscriptions": 2, "subscriptionChurnRate": 0.5}


subs_strategy = st.lists(
    st.tuples(
        st.integers(0, 10**7),
        st.integers(1, 20),
        st.sampled_from(["day", "week", "month", "year"]),
        st.integers(1, 12),
        st.sampled_from(["active", "past_due", "grace_period", "paused", "canceled", "trialing", "suspended"]),
        st.sampled_from(["USD", "EUR", "JPY"]),
    ),
    max_size=12,
)


@given(subs_strategy)
def test_mrr_is_the_rounded_exact_sum_of_normalised_subscriptions(specs: list[tuple]) -> None:
    subs = []
    for amount, quantity, interval, count, status, currency in specs:
        plan = make_plan(amount, interval, count, currency=currency)
        subs.append(make_sub(plan, quantity=quantity) | {"status": status})
    board = _board(subs)
    for row in board["revenue"]:
        exact = sum(
            (
                monthly_amount(s)
                for s in subs
                if s["currency"] == row["currency"] and s["status"] in ("active", "past_due", "grace_period")
            ),
            Fraction(0),
        )
        assert type(row["mrr"]) is int and abs(row["mrr"] - exact) <= Fraction(1, 2)
        assert abs(row["arr"] - 12 * exact) <= Fraction(1, 2)
    assert board["subscriptions"]["total"] == len(subs)


day_offsets = st.integers(-120, 5)
scan_subs = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["active", "past_due", "grace_period", "paused", "canceled", "trialing"]),
            "currency": st.sampled_from(["USD", "EUR", "JPY"]),
            "interval": st.sampled_from(["day", "week", "month", "year"]),
            "intervalCount": st.integers(1, 12),
            "unitAmount": st.integers(0, 10**7),
            "quantity": st.integers(1, 20),
            "customerId": st.sampled_from(["c1", "c2", "c3", "c4"]),
            "startDate": day_offsets,
            "trialEnd": st.none() | day_offsets,
            "canceledAt": st.none() | st.integers(-120 * 86400, 0),
        }
    ),
    max_size=15,
)


@given(scan_subs)
def test_the_one_pass_scan_gives_the_reference_figures(raw: list[dict[str, Any]]) -> None:
    """``dashboard`` reads subscriptions once; its figures equal the reference definitions."""
    subs = []
    for item in raw:
        sub = dict(item)
        sub["startDate"] = (NOW.date() + timedelta(days=item["startDate"])).isoformat()
        if item["trialEnd"] is not None:
            sub["trialEnd"] = (NOW.date() + timedelta(days=item["trialEnd"])).isoformat()
        if item["canceledAt"] is not None:
            sub["canceledAt"] = format_instant(NOW + timedelta(seconds=item["canceledAt"]))
        subs.append(sub)
    counts, mrr, churn_figures = _scan_subscriptions(subs, NOW)
    assert counts == _subscription_counts(subs)
    assert mrr == mrr_by_currency(subs)
    assert churn_figures == churn(subs, NOW)
