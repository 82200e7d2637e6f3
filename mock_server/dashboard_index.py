"""Dashboard figures kept up to date as the entity changes, so ``GET /dashboard`` does not scan.

One ``DashboardIndex`` per entity (``store.EntityState.dashboard``, made by the store, fed by
``EntityState.dashboard_totals``). It remembers, per quote, order,
subscription and invoice, the few fields the dashboard reads (its *contribution*) and keeps
running totals of them: counts per status, money per currency, integer MRR sums per (currency,
interval, intervalCount), counted subscriptions per customer, and sorted time lines for churn.
Before each read it catches up with the ids the store recorded as changed (``EntityState.changed``):
the old contribution is taken out, the new one put in. Time only enters through churn, whose
window ``(now - 30 days, now]`` is answered from the sorted time lines by bisection, so advancing
the clock needs no work here.

The figures are the reference definitions of ``domain.metrics.dashboard`` (a Hypothesis test
compares the two after random sequences of operations and clock advances).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Hashable, Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from operator import itemgetter
from typing import Any, Protocol

from mock_server.domain.metrics import (
    CHURN_WINDOW_DAYS,
    COUNTED,
    ORDER_STATUSES,
    QUOTE_STATUSES,
    REVENUE_FIELDS,
    SUBSCRIPTION_KEYS,
    monthly_amount,
    rate,
)
from mock_server.domain.money import round_fraction
from mock_server.domain.periods import format_instant, parse_date, parse_instant, start_of_day
from mock_server.packed import Resource

TRACKED = ("quotes", "orders", "subscriptions", "invoices")
"""Collections whose changes the store records per id (``EntityState.changed``) for the totals."""
_MEMO_LIMIT = 200_000
_first = itemgetter(0)
_KEYS = {
    "quotes": itemgetter("status", "currency", "subtotal"),
    "orders": itemgetter("status", "currency", "subtotal"),
    "invoices": itemgetter("status", "currency", "total", "amountDue"),
}

# status, customerId, currency, interval, intervalCount, unitAmount x quantity (None when not counted),
# eligible (start of the churn base: max(startDate, trialEnd) at 00:00Z), canceledAt
SubKey = tuple[str, str | None, str | None, str | None, int | None, int | None, datetime, datetime | None]


class Changes(Protocol):
    """What the index reads of an entity (``store.EntityState``): the ids recorded as changed per
    ``TRACKED`` kind, and the resources (read only)."""

    changed: dict[str, set[str]]

    def count(self, kind: str) -> int: ...

    def has(self, kind: str, obj_id: str) -> bool: ...

    def peek(self, kind: str, obj_id: str) -> Resource: ...

    def scan_items(self, kind: str) -> Iterator[tuple[str, Resource]]: ...


class DashboardIndex:
    """Running dashboard totals of one entity; ``figures(entity, now)`` is the ``GET /dashboard`` body."""

    def __init__(self) -> None:
        self._contributions: dict[str, dict[str, Any]] = {kind: {} for kind in TRACKED}
        self._status: dict[str, dict[str, int]] = {kind: {} for kind in TRACKED}
        self._money: dict[str, dict[str, int]] = {}  # currency -> figure -> amount
        self._mrr_groups: dict[tuple[str, str, int], list[int]] = {}  # -> [amount sum, members]
        self._pairs: dict[tuple[str, str], int] = {}  # (currency, customer) -> counted subscriptions
        self._per_currency: dict[str, int] = {}  # currency -> customers with a counted subscription
        self._active: dict[str, int] = {}  # customer -> counted subscriptions in any currency
        self._eligible: list[datetime] = []  # every subscription's eligible instant, sorted
        self._canceled: list[tuple[datetime, datetime]] = []  # (canceledAt, eligible), sorted
        self._left_base: list[datetime] = []  # max(eligible, canceledAt) of canceled ones, sorted
        self._instants: dict[str, datetime] = {}
        self._days: dict[str, datetime] = {}
        self._batch: dict[int, list[Any]] | None = None  # sorted list id -> values to add at the end

    # catching up -------------------------------------------------------------------------------

    def catch_up(self, entity: Changes) -> None:
        """Fold every change the store recorded since the last call into the totals. The changed
        resources' contributions are read first: one whose fields cannot be read raises (as the
        reference computation would) and nothing changes. Equal contributions are folded in once
        with their multiplicity, so the first catch-up with every resource is cheap."""
        for kind in TRACKED:
            pending = entity.changed[kind]
            if not pending:
                continue
            contributions = self._contributions[kind]
            key = self._subscription_key if kind == "subscriptions" else _KEYS[kind]
            ids = list(pending)
            if len(ids) * 4 >= entity.count(kind):  # many: read them in storage order (memory locality)
                fresh = {i: key(r) for i, r in entity.scan_items(kind) if i in pending}
            else:
                fresh = {i: key(entity.peek(kind, i)) for i in ids if entity.has(kind, i)}
            delta = Counter(fresh.values())
            delta.subtract(contributions.pop(obj_id) for obj_id in ids if obj_id in contributions)
            contributions.update(fresh)
            pending.difference_update(ids)
            # additions to the sorted time lines are appended and sorted once at the end
            self._batch = {}
            try:
                for contribution, count in delta.items():
                    if count:
                        self._apply(kind, contribution, count)
            finally:
                batch, self._batch = self._batch, None
                for values in (self._eligible, self._canceled, self._left_base):
                    added = batch.get(id(values))
                    if added:
                        values.extend(added)
                        values.sort()

    def _subscription_key(self, r: Resource) -> SubKey:
        status = r["status"]
        start = self._day(r["startDate"])
        trial_end = r["trialEnd"]
        eligible = start if trial_end is None else max(start, self._day(trial_end))
        canceled = r["canceledAt"]
        canceled_at = self._instant(canceled) if canceled else None
        if status in COUNTED:
            amount = r["unitAmount"] * r["quantity"]
            return (
                status,
                r["customerId"],
                r["currency"],
                r["interval"],
                r["intervalCount"],
                amount,
                eligible,
                canceled_at,
            )
        return (status, None, None, None, None, None, eligible, canceled_at)

    def _day(self, text: str) -> datetime:
        moment = self._days.get(text)
        if moment is None:
            if len(self._days) > _MEMO_LIMIT:
                self._days.clear()
            moment = self._days[text] = start_of_day(parse_date(text))
        return moment

    def _instant(self, text: str) -> datetime:
        moment = self._instants.get(text)
        if moment is None:
            if len(self._instants) > _MEMO_LIMIT:
                self._instants.clear()
            moment = self._instants[text] = parse_instant(text)
        return moment

    def _apply(self, kind: str, key: Any, sign: int) -> None:
        _bump(self._status[kind], key[0], sign)
        if kind == "quotes":
            if key[0] == "sent":
                self._add_money(key[1], "openQuoteValue", sign * key[2])
        elif kind == "orders":
            if key[0] in ("confirmed", "fulfilled"):
                self._add_money(key[1], "bookedRevenue", sign * key[2])
        elif kind == "invoices":
            if key[0] != "void":
                self._add_money(key[1], "invoicedTotal", sign * key[2])
            if key[0] == "open":
                self._add_money(key[1], "outstandingAmount", sign * key[3])
        else:
            self._apply_subscription(key, sign)

    def _add_money(self, currency: str, figure: str, amount: int) -> None:
        sums = self._money.setdefault(currency, {})
        sums[figure] = sums.get(figure, 0) + amount

    def _apply_subscription(self, key: SubKey, sign: int) -> None:
        _status, customer, currency, interval, count, amount, eligible, canceled_at = key
        if customer is not None and currency is not None and interval is not None and count is not None:
            group = self._mrr_groups.setdefault((currency, interval, count), [0, 0])
            group[0] += sign * (amount or 0)
            group[1] += sign
            if group[1] == 0:
                del self._mrr_groups[(currency, interval, count)]
            before = self._pairs.get((currency, customer), 0)
            _bump(self._pairs, (currency, customer), sign)
            if before == 0 or before + sign == 0:  # the customer joins or leaves the currency
                _bump(self._per_currency, currency, 1 if before == 0 else -1)
            _bump(self._active, customer, sign)
        self._sorted_change(self._eligible, eligible, sign)
        if canceled_at is not None:
            self._sorted_change(self._canceled, (canceled_at, eligible), sign)
            self._sorted_change(self._left_base, max(eligible, canceled_at), sign)

    def _sorted_change(self, values: list[Any], value: Any, count: int) -> None:
        """Add ``count`` copies of ``value`` (remove ``-count`` copies when negative)."""
        if count > 0:
            if self._batch is not None:
                self._batch.setdefault(id(values), []).extend([value] * count)
            else:
                for _ in range(count):
                    insort(values, value)
            return
        position = bisect_left(values, value)
        del values[position : position - count]

    # reading -----------------------------------------------------------------------------------

    def figures(self, entity: Changes, now: datetime) -> Resource:
        """The ``GET /dashboard`` body of ``entity`` at ``now`` (after ``catch_up``)."""
        self.catch_up(entity)
        sub_status, quote_status, order_status = (self._status[k] for k in ("subscriptions", "quotes", "orders"))
        subscriptions = {key: sub_status.get(status, 0) for status, key in SUBSCRIPTION_KEYS.items()}
        subscriptions["total"] = entity.count("subscriptions")
        quotes: dict[str, Any] = {status: quote_status.get(status, 0) for status in QUOTE_STATUSES}
        quotes["total"] = entity.count("quotes")
        won = quotes["accepted"] + quotes["converted"]
        quotes["winRate"] = rate(won, won + quotes["declined"] + quotes["expired"])
        quotes["conversionRate"] = rate(
            quotes["converted"], quotes["sent"] + won + quotes["declined"] + quotes["expired"]
        )
        orders: dict[str, Any] = {status: order_status.get(status, 0) for status in ORDER_STATUSES}
        orders["total"] = entity.count("orders")
        return {
            "asOf": format_instant(now),
            "subscriptions": subscriptions,
            "quotes": quotes,
            "orders": orders,
            "customers": {"total": entity.count("customers"), "active": len(self._active)},
            "churn": self._churn(now),
            "revenue": self._revenue(),
        }

    def _churn(self, now: datetime) -> dict[str, Any]:
        t0 = now - timedelta(days=CHURN_WINDOW_DAYS)
        low = bisect_right(self._canceled, t0, key=_first)
        high = bisect_right(self._canceled, now, key=_first)
        base = bisect_right(self._eligible, t0) - bisect_right(self._left_base, t0)
        base_canceled = sum(1 for _, eligible in self._canceled[low:high] if eligible <= t0)
        return {
            "windowDays": CHURN_WINDOW_DAYS,
            "canceledSubscriptions": high - low,
            "subscriptionChurnRate": rate(base_canceled, base),
        }

    def _revenue(self) -> list[Resource]:
        exact: dict[str, Fraction] = {}
        for (currency, interval, count), (amount, _members) in self._mrr_groups.items():
            group = {"unitAmount": amount, "quantity": 1, "interval": interval, "intervalCount": count}
            exact[currency] = exact.get(currency, Fraction(0)) + monthly_amount(group)
        rows = []
        for currency in sorted(set(self._money) | set(exact)):
            sums = self._money.get(currency, {})
            row: Resource = {"currency": currency}
            mrr = exact.get(currency)
            customers = self._per_currency.get(currency, 0)
            figures = {
                "mrr": round_fraction(mrr) if mrr is not None else 0,
                "arr": round_fraction(12 * mrr) if mrr is not None else 0,
                "arpa": round_fraction(mrr / customers) if mrr is not None and customers else 0,
                "openQuoteValue": sums.get("openQuoteValue", 0),
                "bookedRevenue": sums.get("bookedRevenue", 0),
                "invoicedTotal": sums.get("invoicedTotal", 0),
                "outstandingAmount": sums.get("outstandingAmount", 0),
            }
            row.update({name: int(figures[name]) for name in REVENUE_FIELDS})
            if any(row[name] != 0 for name in REVENUE_FIELDS):
                rows.append(row)
        return rows


def _bump(counts: dict[Any, int], key: Hashable, sign: int) -> None:
    value = counts.get(key, 0) + sign
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)
