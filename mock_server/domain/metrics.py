"""Dashboard figures (docs/dashboard.md). Pure.

Counts are ints; rates are ``round(num / den, 4)`` half away from zero as a float in [0, 1], or
None when the denominator is 0. MRR is summed exactly (``Fraction``) per currency and rounded
once; ``arr = round(12 x exact MRR)``; ``arpa = round(exact MRR / counted customers)``. Money is
in the currency's minor units.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from operator import itemgetter
from typing import Any

from mock_server.domain.money import round_div, round_fraction
from mock_server.domain.periods import format_instant, parse_date, parse_instant, start_of_day

Resource = dict[str, Any]
COUNTED = frozenset({"active", "past_due", "grace_period"})
"""Subscription statuses that count towards MRR and active customers."""
CHURN_WINDOW_DAYS = 30
SUBSCRIPTION_KEYS = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "pastDue",
    "grace_period": "gracePeriod",
    "suspended": "suspended",
    "paused": "paused",
    "canceled": "canceled",
}
QUOTE_STATUSES = ("draft", "sent", "accepted", "declined", "expired", "converted")
ORDER_STATUSES = ("draft", "confirmed", "fulfilled", "canceled")
REVENUE_FIELDS = ("mrr", "arr", "arpa", "openQuoteValue", "bookedRevenue", "invoicedTotal", "outstandingAmount")


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` rounded half away from zero to 4 decimals, or None if ``denominator == 0``."""
    if denominator == 0:
        return None
    return round_div(numerator * 10_000, denominator) / 10_000


def monthly_amount(sub: Mapping[str, Any]) -> Fraction:
    """``unitAmount x quantity`` normalised to a month, exactly: month ``/ n``, year ``/ (12 n)``,
    week ``x 52 / (12 n)``, day ``x 365 / (12 n)`` with ``n = intervalCount``."""
    amount, count = sub["unitAmount"] * sub["quantity"], sub["intervalCount"]
    interval = sub["interval"]
    if interval == "month":
        return Fraction(amount, count)
    if interval == "year":
        return Fraction(amount, 12 * count)
    if interval == "week":
        return Fraction(amount * 52, 12 * count)
    if interval == "day":
        return Fraction(amount * 365, 12 * count)
    raise ValueError(f"unknown interval {interval!r}")


def mrr_by_currency(subscriptions: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Fraction, set[str]]]:
    """Exact MRR and the set of counted customer ids per currency (counted statuses only)."""
    result: dict[str, tuple[Fraction, set[str]]] = {}
    for sub in subscriptions:
        if sub["status"] not in COUNTED:
            continue
        total, customers = result.get(sub["currency"], (Fraction(0), set()))
        customers.add(sub["customerId"])
        result[sub["currency"]] = (total + monthly_amount(sub), customers)
    return result


@dataclass(frozen=True)
class DashboardInput:
    """Everything of one entity the dashboard reads."""

    now: datetime
    customers: Iterable[Mapping[str, Any]]
    quotes: Iterable[Mapping[str, Any]]
    orders: Iterable[Mapping[str, Any]]
    subscriptions: Iterable[Mapping[str, Any]]
    invoices: Iterable[Mapping[str, Any]]


def dashboard(data: DashboardInput) -> Resource:
    """The ``GET /dashboard`` body. Subscriptions are read once (``_scan_subscriptions``)."""
    counts, mrr, churn_figures = _scan_subscriptions(data.subscriptions, data.now)
    quotes, orders, customers = list(data.quotes), list(data.orders), list(data.customers)
    active_customers = set().union(*(ids for _, ids in mrr.values())) if mrr else set()
    return {
        "asOf": format_instant(data.now),
        "subscriptions": counts,
        "quotes": _quote_counts(quotes),
        "orders": _counts(orders, ORDER_STATUSES),
        "customers": {"total": len(customers), "active": len(active_customers)},
        "churn": churn_figures,
        "revenue": revenue_rows(mrr, quotes, orders, list(data.invoices)),
    }


def _scan_subscriptions(
    subscriptions: Iterable[Mapping[str, Any]], now: datetime
) -> tuple[dict[str, int], dict[str, tuple[Fraction, set[str]]], dict[str, Any]]:
    """``_subscription_counts``, ``mrr_by_currency`` and ``churn`` (the reference definitions) in
    one pass, for large entities: amounts are summed as integers per (currency, interval,
    intervalCount) and normalised once per group (the same exact Fraction), and ISO dates are
    compared as text (``start_of_day(d) <= t0`` is ``d <= t0.date()``)."""
    t0 = now - timedelta(days=CHURN_WINDOW_DAYS)
    t0_day = t0.date().isoformat()
    by_status: dict[str, int] = {}
    sums: dict[tuple[str, str, int], int] = {}
    customers: dict[str, set[str]] = {}
    total = canceled_in_window = base = base_canceled = 0
    for sub in subscriptions:
        total += 1
        status = sub["status"]
        by_status[status] = by_status.get(status, 0) + 1
        if status in COUNTED:
            currency = sub["currency"]
            key = (currency, sub["interval"], sub["intervalCount"])
            sums[key] = sums.get(key, 0) + sub["unitAmount"] * sub["quantity"]
            ids = customers.get(currency)
            if ids is None:
                ids = customers[currency] = set()
            ids.add(sub["customerId"])
        canceled = sub["canceledAt"]
        canceled_at = parse_instant(canceled) if canceled else None
        in_window = canceled_at is not None and t0 < canceled_at <= now
        canceled_in_window += in_window
        start, trial_end = sub["startDate"], sub["trialEnd"]
        started = start <= t0_day if len(start) == 10 and start[4] == "-" else _day_on_or_before(start, t0_day, t0)
        if (
            started
            and (trial_end is None or _day_on_or_before(trial_end, t0_day, t0))
            and (canceled_at is None or canceled_at > t0)
        ):
            base += 1
            base_canceled += in_window
    counts = {key: by_status.get(status, 0) for status, key in SUBSCRIPTION_KEYS.items()}
    counts["total"] = total
    churn_figures = {
        "windowDays": CHURN_WINDOW_DAYS,
        "canceledSubscriptions": canceled_in_window,
        "subscriptionChurnRate": rate(base_canceled, base),
    }
    return counts, _normalised(sums, customers), churn_figures


def _normalised(
    sums: Mapping[tuple[str, str, int], int], customers: Mapping[str, set[str]]
) -> dict[str, tuple[Fraction, set[str]]]:
    """Integer sums per (currency, interval, intervalCount) as exact monthly amounts per currency."""
    mrr: dict[str, tuple[Fraction, set[str]]] = {}
    for (currency, interval, count), amount in sums.items():
        group = {"unitAmount": amount, "quantity": 1, "interval": interval, "intervalCount": count}
        exact = mrr[currency][0] if currency in mrr else Fraction(0)
        mrr[currency] = (exact + monthly_amount(group), customers[currency])
    return mrr


def _day_on_or_before(day: str, limit_day: str, limit: datetime) -> bool:
    """``start_of_day(day) <= limit``: an ISO ``YYYY-MM-DD`` compares as text with ``limit``'s date."""
    if len(day) == 10 and day[4] == "-" and day[7] == "-":
        return day <= limit_day
    return start_of_day(parse_date(day)) <= limit


_status = itemgetter("status")


def _counts(resources: list[Mapping[str, Any]], statuses: tuple[str, ...]) -> dict[str, Any]:
    counter = Counter(map(_status, resources))
    counts: dict[str, Any] = {status: counter.get(status, 0) for status in statuses}
    counts["total"] = len(resources)
    return counts


def _subscription_counts(subscriptions: list[Mapping[str, Any]]) -> dict[str, int]:
    counter = Counter(s["status"] for s in subscriptions)
    counts = {key: counter.get(status, 0) for status, key in SUBSCRIPTION_KEYS.items()}
    counts["total"] = len(subscriptions)
    return counts


def _quote_counts(quotes: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts plus ``winRate = (accepted + converted) / (accepted + converted + declined + expired)``
    and ``conversionRate = converted / (sent + accepted + declined + expired + converted)``."""
    c = _counts(quotes, QUOTE_STATUSES)
    won = c["accepted"] + c["converted"]
    c["winRate"] = rate(won, won + c["declined"] + c["expired"])
    c["conversionRate"] = rate(c["converted"], c["sent"] + won + c["declined"] + c["expired"])
    return c


def churn(subscriptions: list[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """Window ``(now - 30 days, now]``. The base: ``startDate <= T0``, ``trialEnd`` null or ``<= T0``,
    ``canceledAt`` null or ``> T0`` (dates compared at 00:00Z); the rate is base members canceled in
    the window over ``|base|`` (None when the base is empty)."""
    t0 = now - timedelta(days=CHURN_WINDOW_DAYS)
    canceled_in_window = 0
    base = base_canceled = 0
    for sub in subscriptions:
        canceled_at = parse_instant(sub["canceledAt"]) if sub["canceledAt"] else None
        in_window = canceled_at is not None and t0 < canceled_at <= now
        canceled_in_window += in_window
        trial_end = sub["trialEnd"]
        if (
            start_of_day(parse_date(sub["startDate"])) <= t0
            and (trial_end is None or start_of_day(parse_date(trial_end)) <= t0)
            and (canceled_at is None or canceled_at > t0)
        ):
            base += 1
            base_canceled += in_window
    return {
        "windowDays": CHURN_WINDOW_DAYS,
        "canceledSubscriptions": canceled_in_window,
        "subscriptionChurnRate": rate(base_canceled, base),
    }


def revenue_rows(
    mrr: Mapping[str, tuple[Fraction, set[str]]],
    quotes: list[Mapping[str, Any]],
    orders: list[Mapping[str, Any]],
    invoices: list[Mapping[str, Any]],
) -> list[Resource]:
    """One row per currency with any non-zero figure, sorted by currency code."""
    sums: dict[str, Counter[str]] = defaultdict(Counter)
    for quote in quotes:
        if quote["status"] == "sent":
            sums[quote["currency"]]["openQuoteValue"] += quote["subtotal"]
    for order in orders:
        if order["status"] in ("confirmed", "fulfilled"):
            sums[order["currency"]]["bookedRevenue"] += order["subtotal"]
    for invoice in invoices:
        if invoice["status"] != "void":
            sums[invoice["currency"]]["invoicedTotal"] += invoice["total"]
        if invoice["status"] == "open":
            sums[invoice["currency"]]["outstandingAmount"] += invoice["amountDue"]
    for currency, (exact, customers) in mrr.items():
        sums[currency]["mrr"] = round_fraction(exact)
        sums[currency]["arr"] = round_fraction(12 * exact)
        sums[currency]["arpa"] = round_fraction(exact / len(customers)) if customers else 0
    rows = []
    for currency in sorted(sums):
        row: Resource = {"currency": currency}
        row.update({name: int(sums[currency][name]) for name in REVENUE_FIELDS})
        if any(row[name] != 0 for name in REVENUE_FIELDS):
            rows.append(row)
    return rows
