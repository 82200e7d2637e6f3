"""An independent re-computation of every Sales API figure, written from the rules in docs/.

Nothing here is imported from ``mock_server``: the oracle must be able to disagree with it.
Money is ``int`` minor units; every division is exact (``Fraction``) and rounded once, half away
from zero. Functions return the expected value; ``problems_*`` functions return a list of
human-readable discrepancies (empty when the document is consistent).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any

Json = dict[str, Any]

QUOTE_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent"}),
    "sent": frozenset({"accepted", "declined"}),
}
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"confirmed", "canceled"}),
    "confirmed": frozenset({"fulfilled", "canceled"}),
}
SUBSCRIPTION_PATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    "trialing": frozenset({"canceled"}),
    "active": frozenset({"paused", "canceled"}),
    "paused": frozenset({"active", "canceled"}),
    "past_due": frozenset({"canceled"}),
    "grace_period": frozenset({"canceled"}),
    "suspended": frozenset({"canceled"}),
}
MRR_STATUSES = frozenset({"active", "past_due", "grace_period"})


def round_half_away(value: Fraction | int) -> int:
    """Round an exact rational to an integer, half away from zero (2.5 -> 3, -2.5 -> -3)."""
    value = Fraction(value)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return sign * whole


def div_round_half_away(numerator: int, denominator: int) -> int:
    """``round_half_away(Fraction(numerator, denominator))`` in integer arithmetic only (the hot path)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def line_amount(quantity: int, unit_price: int, discount_bps: int = 0) -> int:
    """``round(quantity * unitPrice * (10000 - discountBps) / 10000)`` in minor units."""
    return div_round_half_away(quantity * unit_price * (10000 - discount_bps), 10000)


def tax_amount(amount: int, tax_rate_bps: int) -> int:
    """``round(amount * taxRateBps / 10000)`` in minor units."""
    return div_round_half_away(amount * tax_rate_bps, 10000)


def totals(lines: Iterable[Mapping[str, Any]]) -> tuple[int, int, int]:
    """``(subtotal, taxTotal, total)`` of a document from its lines' ``amount`` and ``taxAmount``."""
    items = list(lines)
    subtotal = sum(int(line["amount"]) for line in items)
    tax = sum(int(line["taxAmount"]) for line in items)
    return subtotal, tax, subtotal + tax


def problems_sales_document(doc: Mapping[str, Any]) -> list[str]:
    """Line and document arithmetic of a quote or order."""
    found: list[str] = []
    for index, line in enumerate(doc.get("lines") or []):
        amount = line_amount(line["quantity"], line["unitPrice"], line.get("discountBps", 0))
        if line.get("amount") != amount:
            found.append(f"lines/{index}/amount is {line.get('amount')!r}, expected {amount}")
            continue
        tax = tax_amount(amount, line.get("taxRateBps", 0))
        if line.get("taxAmount") != tax:
            found.append(f"lines/{index}/taxAmount is {line.get('taxAmount')!r}, expected {tax}")
    if not found and "lines" in doc:
        found.extend(_problems_totals(doc))
    return found


def problems_lines_as_sent(
    doc: Mapping[str, Any], sent: Sequence[Mapping[str, Any]], default_tax_rate_bps: int
) -> list[str]:
    """A quote's or order's lines against the request that made them (not against themselves): each
    price echoed to the minor unit and each amount recomputed from what was sent. A server that keeps
    fewer decimals than the currency has (whole tens of fils for KWD) agrees with itself, not with this."""
    lines = list(doc.get("lines") or [])
    if len(lines) != len(sent):
        return [f"{len(sent)} lines were sent, the answer has {len(lines)}"]
    found: list[str] = []
    for index, (line, asked) in enumerate(zip(lines, sent, strict=True)):
        rate = int(asked.get("taxRateBps", default_tax_rate_bps))
        amount = line_amount(int(asked["quantity"]), int(asked["unitPrice"]), int(asked.get("discountBps", 0)))
        expected = {"unitPrice": asked["unitPrice"], "amount": amount, "taxAmount": tax_amount(amount, rate)}
        found += [
            f"lines/{index}/{key} is {line.get(key)!r}, {value} from the request"
            for key, value in expected.items()
            if line.get(key) != value
        ]
    return found


def _problems_totals(doc: Mapping[str, Any]) -> list[str]:
    subtotal, tax, total = totals(doc["lines"])
    expected = {"subtotal": subtotal, "taxTotal": tax, "total": total}
    return [f"{key} is {doc.get(key)!r}, expected {value}" for key, value in expected.items() if doc.get(key) != value]


def problems_invoice(invoice: Mapping[str, Any], credit_before: int | None = None) -> list[str]:
    """Invoice arithmetic and credit application; ``credit_before`` is the customer's balance before it, if known."""
    found: list[str] = []
    for index, line in enumerate(invoice.get("lines") or []):
        tax = tax_amount(line["amount"], line.get("taxRateBps", 0))
        if line.get("taxAmount") != tax:
            found.append(f"lines/{index}/taxAmount is {line.get('taxAmount')!r}, expected {tax}")
    if found:
        return found
    found.extend(_problems_totals(invoice))
    total = int(invoice.get("total", 0))
    applied, due = invoice.get("creditApplied"), invoice.get("amountDue")
    if total <= 0 and (applied, due) != (0, 0):
        found.append(f"total {total} <= 0 needs creditApplied 0 and amountDue 0, got {applied!r}, {due!r}")
    if total > 0:
        if credit_before is not None and applied != min(credit_before, total):
            found.append(f"creditApplied is {applied!r}, expected min({credit_before}, {total})")
        if not isinstance(applied, int) or not 0 <= applied <= total:
            found.append(f"creditApplied {applied!r} outside 0..{total}")
        elif due != total - applied:
            found.append(f"amountDue is {due!r}, expected {total - applied}")
    if due == 0 and invoice.get("status") == "open":
        found.append("an invoice with amountDue 0 must be born paid, not open")
    return found


# -- Currencies, human numbers, list order ------------------------------------------------------

THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
"""Currencies whose minor unit is a thousandth (fils, baisa, millime): 12.345 KWD is ``12345``."""
NUMBER = re.compile(r"^(?P<prefix>[A-Z]+)-(?P<sequence>\d{6,})$")


def number_sequence(number: Any, prefix: str) -> int | None:
    """The sequence of a human number (``SO-000042`` -> 42 for prefix ``SO``); None if it is not one."""
    found = NUMBER.match(number) if isinstance(number, str) else None
    return int(found["sequence"]) if found and found["prefix"] == prefix else None


def problems_numbers_increase(numbers: Sequence[Any], prefix: str) -> list[str]:
    """Human numbers in creation order: each ``PREFIX-nnnnnn``, each greater than every earlier one,
    so a number is never given twice (not even the number of a deleted draft)."""
    found: list[str] = []
    highest: tuple[int, Any] | None = None
    for number in numbers:
        sequence = number_sequence(number, prefix)
        if sequence is None:
            found.append(f"{number!r} is not a {prefix}-nnnnnn number")
        elif highest is not None and sequence <= highest[0]:
            found.append(f"{number} was given after {highest[1]}: numbers must increase and never repeat")
        if sequence is not None and (highest is None or sequence > highest[0]):
            highest = (sequence, number)
    return found


def problems_newest_first(items: Sequence[Mapping[str, Any]], prefix: str | None = None) -> list[str]:
    """A list documented newest first (or a subsequence of one, e.g. sampled pages in page order):
    ``createdAt`` never increases along it, and with ``prefix`` the human numbers strictly decrease
    (numbers are given in creation order)."""
    found: list[str] = []
    for index, (newer, older) in enumerate(pairwise(items)):
        try:
            later, earlier = parse_instant(newer["createdAt"]), parse_instant(older["createdAt"])
        except (KeyError, TypeError, ValueError):
            continue
        if later < earlier:
            found.append(
                f"item {index + 1} ({older.get('id')}, createdAt {older['createdAt']}) is newer than the item "
                f"before it ({newer.get('id')}, createdAt {newer['createdAt']}): the list is not newest first"
            )
        if prefix is not None:
            a, b = number_sequence(newer.get("number"), prefix), number_sequence(older.get("number"), prefix)
            if a is not None and b is not None and a <= b:
                found.append(f"{older.get('number')} is listed after {newer.get('number')}: not newest first")
    return found


def problems_creation_order(listed: Sequence[Mapping[str, Any]], created: Sequence[str]) -> list[str]:
    """``created`` ids (oldest first) must all be in the newest-first ``listed`` items, the newest first."""
    position = {item.get("id"): index for index, item in enumerate(listed)}
    missing = [rid for rid in created if rid not in position]
    if missing:
        return [f"created {missing} but the list does not show them"]
    shown = sorted(created, key=lambda rid: position[rid])
    expected = list(reversed(created))
    return [] if shown == expected else [f"listed as {shown}, expected {expected}: the newest first"]


def parse_date(text: str) -> date:
    return date.fromisoformat(text)


def add_months(day: date, months: int) -> date:
    """Calendar months with the day clamped to the month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_interval(anchor: date, interval: str, count: int, periods: int = 1) -> date:
    """The end of the ``periods``-th period counted from ``anchor``."""
    if interval == "day":
        return anchor + timedelta(days=count * periods)
    if interval == "week":
        return anchor + timedelta(days=7 * count * periods)
    if interval == "month":
        return add_months(anchor, count * periods)
    if interval == "year":
        return add_months(anchor, 12 * count * periods)
    raise ValueError(f"unknown interval {interval!r}")


def expected_proration(
    subscription: Mapping[str, Any], new_plan: Mapping[str, Any], proration_date: date, new_quantity: int | None = None
) -> Json:
    """Proration of a change-plan recomputed from the subscription and the new plan *before* the change.

    Returns ``{"periodStart", "periodEnd", "daysInPeriod", "daysRemaining", "credit", "charge", "net",
    "sameCadence"}`` with ISO dates and minor units.
    """
    start, end = parse_date(subscription["currentPeriodStart"]), parse_date(subscription["currentPeriodEnd"])
    quantity = new_quantity if new_quantity is not None else int(subscription["quantity"])
    days_in, days_left = (end - start).days, (end - proration_date).days
    same = (new_plan["interval"], new_plan.get("intervalCount", 1)) == (
        subscription["interval"],
        subscription.get("intervalCount", 1),
    )
    if subscription["status"] == "trialing":
        credit = charge = 0
    else:
        old = int(subscription["unitAmount"]) * int(subscription["quantity"])
        new = int(new_plan["amount"]) * quantity
        credit = -round_half_away(Fraction(old * days_left, days_in))
        charge = round_half_away(Fraction(new * days_left, days_in)) if same else new
    return {
        "periodStart": start.isoformat(),
        "periodEnd": end.isoformat(),
        "daysInPeriod": days_in,
        "daysRemaining": days_left,
        "credit": credit,
        "charge": charge,
        "net": credit + charge,
        "sameCadence": same,
    }


def problems_proration(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Compare a change-plan ``proration`` object with :func:`expected_proration`."""
    keys = ("periodStart", "periodEnd", "daysInPeriod", "daysRemaining", "credit", "charge", "net")
    found = [
        f"proration.{k} is {actual.get(k)!r}, expected {expected[k]!r}" for k in keys if actual.get(k) != expected[k]
    ]
    amounts = sorted(int(line["amount"]) for line in actual.get("lines") or [])
    nonzero = sorted(v for v in (expected["credit"], expected["charge"]) if v != 0)
    if actual.get("lines") and amounts != nonzero:
        found.append(f"proration line amounts {amounts} != expected {nonzero}")
    return found


def problems_proration_shape(proration: Mapping[str, Any]) -> list[str]:
    """Internal consistency of a proration object, needing no outside knowledge."""
    found: list[str] = []
    if proration.get("net") != proration.get("credit", 0) + proration.get("charge", 0):
        found.append(f"net {proration.get('net')!r} != credit + charge")
    start, end = parse_date(proration["periodStart"]), parse_date(proration["periodEnd"])
    when = parse_date(proration["prorationDate"])
    if proration.get("daysInPeriod") != (end - start).days:
        found.append(f"daysInPeriod {proration.get('daysInPeriod')!r} != days({start}, {end})")
    if proration.get("daysRemaining") != (end - when).days:
        found.append(f"daysRemaining {proration.get('daysRemaining')!r} != days({when}, {end})")
    if int(proration.get("credit", 0)) > 0:
        found.append("a proration credit must not be positive")
    return found


def monthly_amount(subscription: Mapping[str, Any]) -> Fraction:
    """Exact monthly value of one subscription (``unitAmount x quantity`` normalised to a month)."""
    value = Fraction(int(subscription["unitAmount"]) * int(subscription["quantity"]))
    count = int(subscription.get("intervalCount", 1))
    factor = {
        "month": Fraction(1, count),
        "year": Fraction(1, 12 * count),
        "week": Fraction(52, 12 * count),
        "day": Fraction(365, 12 * count),
    }[subscription["interval"]]
    return value * factor


def exact_mrr(subscriptions: Iterable[Mapping[str, Any]]) -> dict[str, Fraction]:
    """Exact MRR per currency over subscriptions in active, past_due and grace_period."""
    result: dict[str, Fraction] = {}
    for sub in subscriptions:
        if sub["status"] in MRR_STATUSES:
            result[sub["currency"]] = result.get(sub["currency"], Fraction(0)) + monthly_amount(sub)
    return result


def rate(numerator: int, denominator: int) -> float | None:
    """A ratio rounded half away from zero to 4 decimals, or None when the denominator is 0."""
    if denominator == 0:
        return None
    return round_half_away(Fraction(numerator * 10000, denominator)) / 10000


def count_by(items: Iterable[Mapping[str, Any]], key: str = "status") -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item[key]] = counts.get(item[key], 0) + 1
    return counts


def expected_page(full: Sequence[Any], page: int, page_size: int) -> list[Any]:
    """The slice of the full (newest-first) list that page ``page`` of size ``page_size`` shows."""
    return list(full[(page - 1) * page_size : page * page_size])


SUB_KEYS = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "pastDue",
    "grace_period": "gracePeriod",
    "suspended": "suspended",
    "paused": "paused",
    "canceled": "canceled",
}


def expected_dashboard(
    subscriptions: Sequence[Mapping[str, Any]],
    quotes: Sequence[Mapping[str, Any]],
    orders: Sequence[Mapping[str, Any]],
    customers: Sequence[Mapping[str, Any]],
) -> Json:
    """Dashboard figures recomputable from the list endpoints (invoice-based figures excluded)."""
    subs = count_by(subscriptions)
    qs = count_by(quotes)
    won = qs.get("accepted", 0) + qs.get("converted", 0)
    decided = won + qs.get("declined", 0) + qs.get("expired", 0)
    offered = decided - qs.get("accepted", 0) - qs.get("converted", 0) + qs.get("sent", 0) + won
    return {
        "subscriptions": {key: subs.get(status, 0) for status, key in SUB_KEYS.items()} | {"total": len(subscriptions)},
        "quotes": {s: qs.get(s, 0) for s in ("draft", "sent", "accepted", "declined", "expired", "converted")}
        | {
            "total": len(quotes),
            "winRate": rate(won, decided),
            "conversionRate": rate(qs.get("converted", 0), offered),
        },
        "orders": {s: count_by(orders).get(s, 0) for s in ("draft", "confirmed", "fulfilled", "canceled")}
        | {"total": len(orders)},
        "customers": {"total": len(customers), "active": len(_counted_customers(subscriptions))},
        "revenue": _revenue(subscriptions, quotes, orders),
    }


def expected_churn(subscriptions: Sequence[Mapping[str, Any]], as_of: str) -> Json:
    """Churn over the window ``(now - 30 days, now]`` recomputed from the subscriptions list.

    Base: ``startDate <= T0``, ``trialEnd`` null or ``<= T0``, ``canceledAt`` null or ``> T0`` (T0 = now - 30 days);
    the rate is the base members canceled in the window over the base, 4 decimals, null on an empty base.
    """
    now = parse_instant(as_of)
    start = now - timedelta(days=30)

    def day(text: str) -> datetime:
        return datetime.combine(parse_date(text), datetime.min.time(), tzinfo=UTC)

    def in_window(sub: Mapping[str, Any]) -> bool:
        return sub.get("canceledAt") is not None and start < parse_instant(sub["canceledAt"]) <= now

    base = [
        sub
        for sub in subscriptions
        if day(sub["startDate"]) <= start
        and (sub.get("trialEnd") is None or day(sub["trialEnd"]) <= start)
        and (sub.get("canceledAt") is None or parse_instant(sub["canceledAt"]) > start)
    ]
    return {
        "windowDays": 30,
        "canceledSubscriptions": sum(1 for sub in subscriptions if in_window(sub)),
        "subscriptionChurnRate": rate(sum(1 for sub in base if in_window(sub)), len(base)),
    }


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _counted_customers(subscriptions: Iterable[Mapping[str, Any]], currency: str | None = None) -> set[str]:
    return {
        s["customerId"]
        for s in subscriptions
        if s["status"] in MRR_STATUSES and (currency is None or s["currency"] == currency)
    }


def _revenue(
    subscriptions: Sequence[Mapping[str, Any]], quotes: Sequence[Mapping[str, Any]], orders: Sequence[Mapping[str, Any]]
) -> dict[str, Json]:
    """Per currency: mrr, arr, arpa, openQuoteValue, bookedRevenue (the figures lists can recompute)."""
    mrr = exact_mrr(subscriptions)
    rows: dict[str, Json] = {}
    for currency in set(mrr) | {q["currency"] for q in quotes} | {o["currency"] for o in orders}:
        exact = mrr.get(currency, Fraction(0))
        payers = len(_counted_customers(subscriptions, currency))
        rows[currency] = {
            "mrr": round_half_away(exact),
            "arr": round_half_away(12 * exact),
            "arpa": round_half_away(exact / payers) if payers else 0,
            "openQuoteValue": sum(q["subtotal"] for q in quotes if q["currency"] == currency and q["status"] == "sent"),
            "bookedRevenue": sum(
                o["subtotal"] for o in orders if o["currency"] == currency and o["status"] in ("confirmed", "fulfilled")
            ),
        }
    return rows


def problems_dashboard(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Compare a dashboard with :func:`expected_dashboard`; a missing revenue row counts as all zeros."""
    found: list[str] = []
    for section in ("subscriptions", "quotes", "orders", "customers", "churn"):
        if section not in expected:
            continue
        for key, value in expected[section].items():
            got = (actual.get(section) or {}).get(key)
            if got != value:
                found.append(f"{section}.{key} is {got!r}, expected {value!r}")
    rows = {row.get("currency"): row for row in actual.get("revenue") or []}
    for currency, figures in expected["revenue"].items():
        row = rows.get(currency, {})
        for key, value in figures.items():
            if row.get(key, 0) != value:
                found.append(f"revenue[{currency}].{key} is {row.get(key)!r}, expected {value!r}")
    return found


# -- Derived dates: periods, trial ends, due dates, validity ---------------------------------------

MAX_PERIODS = 5000  # boundaries searched from an anchor (a daily plan over ~13 years)


def problems_subscription_dates(sub: Mapping[str, Any]) -> list[str]:
    """A subscription's period against its anchor: ``currentPeriodStart`` is a boundary counted from
    ``billingCycleAnchor`` (months and years clamp to the month's end, from the anchor, so leap days
    and the 29th-31st come out right) and ``currentPeriodEnd`` the next one; a trialing subscription's
    period, and any period that starts before ``trialEnd`` (canceled or paused in the trial), ends at
    ``trialEnd``."""
    try:
        start, end = parse_date(sub["currentPeriodStart"]), parse_date(sub["currentPeriodEnd"])
        interval, count = str(sub["interval"]), int(sub.get("intervalCount") or 1)
    except (KeyError, TypeError, ValueError):
        return []
    problems = []
    if not start < end:
        problems.append(f"period [{start}, {end}) is empty or reversed")
    if sub.get("status") == "trialing":
        if sub.get("trialEnd") is None:
            problems.append("a trialing subscription has no trialEnd")
        elif parse_date(sub["trialEnd"]) != end:
            problems.append(f"a trialing period ends at {end}, trialEnd is {sub['trialEnd']}")
        return problems
    trial_end = sub.get("trialEnd")
    if isinstance(trial_end, str) and start < parse_date(trial_end):
        # still the trial's period (a subscription canceled or paused during its trial keeps it)
        if parse_date(trial_end) != end:
            problems.append(f"a period that starts in the trial ends at {end}, trialEnd is {trial_end}")
        return problems
    anchor_text = sub.get("billingCycleAnchor")
    if not anchor_text or interval not in ("day", "week", "month", "year"):
        return problems
    anchor = parse_date(anchor_text)
    if start < anchor:
        return [*problems, f"currentPeriodStart {start} is before billingCycleAnchor {anchor}"]
    for n in range(MAX_PERIODS):
        boundary = add_interval(anchor, interval, count, n)
        if boundary == start:
            expected = add_interval(anchor, interval, count, n + 1)
            if end != expected:
                problems.append(
                    f"currentPeriodEnd is {end}; period {n + 1} from anchor {anchor} "
                    f"({count} {interval}) ends {expected}"
                )
            return problems
        if boundary > start:
            break
    return [*problems, f"currentPeriodStart {start} is not a period boundary from anchor {anchor} ({count} {interval})"]


def problems_new_subscription(sub: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    """A created subscription against its request: ``trialEnd = startDate + trialDays``, trialing iff a trial."""
    days = request.get("trialDays")
    if not isinstance(days, int) or isinstance(days, bool) or "startDate" not in sub:
        return []
    start = parse_date(sub["startDate"])
    if days == 0:
        return [] if sub.get("trialEnd") is None else [f"no trial was asked for, trialEnd is {sub['trialEnd']}"]
    expected = start + timedelta(days=days)
    if sub.get("trialEnd") != expected.isoformat():
        return [f"trialEnd is {sub.get('trialEnd')}, startDate {start} + {days} trial days is {expected}"]
    return [] if sub.get("status") == "trialing" else [f"with a trial the status is trialing, not {sub.get('status')}"]


def problems_invoice_dates(invoice: Mapping[str, Any], due_in_days: int | None) -> list[str]:
    """``dueDate = issueDate + dueInDays`` (30 by default) for a newly billed invoice; ordered periods."""
    problems = []
    try:
        issue, due = parse_date(invoice["issueDate"]), parse_date(invoice["dueDate"])
    except (KeyError, TypeError, ValueError):
        return []
    if due_in_days is not None and due != issue + timedelta(days=due_in_days):
        problems.append(
            f"dueDate is {due}, issueDate {issue} + {due_in_days} days is {issue + timedelta(days=due_in_days)}"
        )
    if invoice.get("periodStart") and invoice.get("periodEnd"):
        if not parse_date(invoice["periodStart"]) < parse_date(invoice["periodEnd"]):
            problems.append(f"invoice period [{invoice['periodStart']}, {invoice['periodEnd']}) is empty")
    return problems


def problems_quote_dates(quote: Mapping[str, Any], request: Mapping[str, Any] | None) -> list[str]:
    """``validUntil`` not before ``issueDate``; on create without one, ``issueDate + 30 days``."""
    try:
        issue, valid = parse_date(quote["issueDate"]), parse_date(quote["validUntil"])
    except (KeyError, TypeError, ValueError):
        return []
    problems = [] if valid >= issue else [f"validUntil {valid} is before issueDate {issue}"]
    if request is not None and "validUntil" not in request and valid != issue + timedelta(days=30):
        problems.append(f"validUntil defaults to issueDate + 30 days ({issue + timedelta(days=30)}), got {valid}")
    return problems
